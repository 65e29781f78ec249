// A front end's use of the gateway through a client generated from openapi/openapi.json
// (openapi-typescript types + openapi-fetch). `tsc` checks it against the generated types, so a
// schema change that breaks front-end code fails CI; `.ci/ecosystem` then runs it against a started
// gateway: list customers, buy an Azure plan, follow its order.
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/openapi";

type AzurePlan = components["schemas"]["AzurePlan"];
type Problem = components["schemas"]["ProblemDetails"];
type Reason = components["schemas"]["Reason"];

export function gateway(baseUrl: string, token: string) {
  return createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });
}

function explain(problem: Problem): string {
  const reason: Reason | null | undefined = problem.reason;
  const fields = (problem.errors ?? []).map((v) => `${v.field}: ${v.description}`).join("; ");
  return `${problem.status} ${reason ?? ""}: ${problem.detail ?? problem.title}${fields ? ` (${fields})` : ""}`;
}

export async function firstCustomerIds(client: ReturnType<typeof gateway>): Promise<string[]> {
  const { data, error } = await client.GET("/v1/customers", { params: { query: { pageSize: 5 } } });
  if (error) throw new Error(explain(error));
  return data.items.map((customer) => customer.id);
}

export async function buyAzurePlan(
  client: ReturnType<typeof gateway>,
  customerId: string,
  idempotencyKey: string,
): Promise<{ plan: AzurePlan; location: string | null; status: number }> {
  const { data, error, response } = await client.POST("/v1/customers/{customerId}/azure-plans", {
    params: { path: { customerId }, header: { "Idempotency-Key": idempotencyKey } },
    body: { friendlyName: "Bought from TypeScript", country: null },
  });
  if (error) throw new Error(explain(error));
  return { plan: data, location: response.headers.get("Location"), status: response.status };
}

export async function orderStatus(client: ReturnType<typeof gateway>, customerId: string, orderId: string) {
  const { data, error } = await client.GET("/v1/customers/{customerId}/orders/{orderId}", {
    params: { path: { customerId, orderId } },
  });
  if (error) throw new Error(explain(error));
  return data.status;
}

// The generated types are precise, not `any`: each line below must fail to type-check.
export function mistakes(client: ReturnType<typeof gateway>) {
  // @ts-expect-error: no such route
  void client.GET("/v1/customer");
  // @ts-expect-error: the purchase needs its customerId path parameter
  void client.POST("/v1/customers/{customerId}/azure-plans", { params: { header: { "Idempotency-Key": "k" } } });
  // @ts-expect-error: friendlyName is a string
  void client.POST("/v1/customers/{customerId}/azure-plans", { params: { path: { customerId: "c" }, header: { "Idempotency-Key": "k" } }, body: { friendlyName: 7 } });
  // @ts-expect-error: a reason the gateway never sends
  const reason: Reason = "NOT_A_REASON";
  return reason;
}

// Run against a gateway: node client.js <base url> <token>
async function main(): Promise<void> {
  const [baseUrl, token] = process.argv.slice(2);
  if (!baseUrl || !token) throw new Error("usage: node client.js <base url> <token>");
  const client = gateway(baseUrl, token);
  const ids = await firstCustomerIds(client);
  if (ids.length === 0) throw new Error("no customers listed");
  const customerId = "3e8b1c5d-0f4a-4b6c-8d9e-4f5a6b7c8d93";
  const bought = await buyAzurePlan(client, customerId, `typescript-${Date.now()}`);
  if (bought.status !== 201) throw new Error(`expected 201, got ${bought.status}`);
  const expected = `/v1/customers/${customerId}/orders/${bought.plan.orderId}`;
  if (bought.location !== expected) throw new Error(`Location ${bought.location}, expected ${expected}`);
  const status = await orderStatus(client, customerId, bought.plan.orderId);
  console.log(`typescript client: ${ids.length} customers; bought ${bought.plan.orderId} (${status}); Location ${bought.location}`);
}

declare const process: { argv: string[] };
main().catch((error: unknown) => {
  console.error(error);
  throw error;
});
