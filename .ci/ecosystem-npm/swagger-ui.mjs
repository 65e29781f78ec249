// Swagger UI in headless Chromium (Debian's, never a downloaded browser): served behind a path
// prefix by a small reverse proxy, as an ingress would, it loads the document, takes a dev token in
// Authorize, keeps it across a reload (persistAuthorization), and "Try it out" on the Azure plan
// purchase answers 201 with its example values.
//
//   node swagger-ui.mjs <gateway base url> <dev token>
import http from "node:http";
import { chromium } from "playwright-core";

const [gateway, token] = process.argv.slice(2);
if (!gateway || !token) throw new Error("usage: node swagger-ui.mjs <gateway base url> <dev token>");
const PREFIX = "/partner-gateway";

// The gateway under PREFIX, the prefix stripped, as a path-based ingress rule does.
const proxy = http.createServer((request, response) => {
  if (!request.url.startsWith(`${PREFIX}/`)) {
    response.writeHead(404).end("outside the prefix");
    return;
  }
  const target = new URL(request.url.slice(PREFIX.length), gateway);
  const upstream = http.request(target, { method: request.method, headers: request.headers }, (answer) => {
    response.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(response);
  });
  upstream.on("error", (error) => response.writeHead(502).end(String(error)));
  request.pipe(upstream);
});
await new Promise((resolve) => proxy.listen(0, "127.0.0.1", resolve));
const base = `http://127.0.0.1:${proxy.address().port}${PREFIX}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
});
const seen = [];
try {
  const page = await browser.newPage();
  page.on("request", (request) => seen.push(`${request.method()} ${new URL(request.url()).pathname}`));
  await page.goto(`${base}/swagger-ui/`);
  // The document came through the prefix (relative spec URL), so the operations render.
  const purchase = page.locator("#operations-orders-create_azure_plan");
  await purchase.waitFor({ timeout: 30_000 });
  if (!seen.includes(`GET ${PREFIX}/openapi.json`)) throw new Error(`the document was not read through the prefix: ${seen.join(", ")}`);

  // Authorize with the dev token.
  await page.locator("button.authorize").first().click();
  const dialog = page.locator(".modal-ux");
  await dialog.locator("input").first().fill(token);
  await dialog.locator("button.authorize").click();
  await dialog.locator("button.btn-done").click();

  // persistAuthorization: a reload keeps the token.
  await page.reload();
  await purchase.waitFor({ timeout: 30_000 });
  const stored = await page.evaluate(() => window.localStorage.getItem("authorized") ?? "");
  if (!stored.includes(token)) throw new Error("the authorization was not kept across a reload");

  // Try it out with the document's examples: Adventure Works, the example key and body.
  await purchase.locator(".opblock-summary").click();
  await purchase.locator("button.try-out__btn").click();
  const customerId = await purchase.locator("tr[data-param-name='customerId'] input").inputValue();
  const body = await purchase.locator("textarea.body-param__text").inputValue();
  if (!customerId || body.includes('"string"')) throw new Error(`examples missing: customerId ${customerId}, body ${body}`);
  await purchase.locator("button.execute").click();
  const status = purchase.locator(".live-responses-table .response .response-col_status").first();
  await status.waitFor({ timeout: 60_000 });
  const code = (await status.innerText()).trim();
  const answer = await purchase.locator(".live-responses-table .response-col_description pre").first().innerText();
  if (code !== "201") throw new Error(`"Try it out" answered ${code}: ${answer}`);
  const purchases = seen.filter((line) => line === `POST ${PREFIX}/v1/customers/${customerId}/azure-plans`);
  if (purchases.length !== 1) throw new Error(`the purchase did not go through the prefix: ${seen.join(", ")}`);
  console.log(`swagger ui: authorized, kept across a reload, purchase for ${customerId} answered ${code} through ${PREFIX}`);
} finally {
  await browser.close();
  proxy.close();
}
