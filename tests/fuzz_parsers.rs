//! Property tests (fuzzing) of everything that parses caller or upstream input: no input makes
//! a parser panic, and what is accepted is well formed.

use partner_center_gateway::{
    edge::REST_FIELDS,
    facade::paging::{PageBinding, PageTokens},
    grpc::parse_grpc_timeout,
    model::{
        Country, CustomerId, OrderId, ProductId,
        billing::{LineItemArgs, LineItemQuery},
        commerce::{CartLine, CartLineArgs},
        page::PageToken,
        usage::BudgetAmount,
    },
    partner_center::{error::classify, models::usage::decimal_text},
};
use proptest::prelude::*;

fn tokens() -> PageTokens {
    PageTokens::new(Some(b"fuzzing-key-fuzzing-key-fuzzing-key!")).expect("key")
}

fn binding() -> PageBinding {
    PageBinding::new("fuzz", "partner")
}

fn token(value: &str) -> PageToken {
    PageToken { value: value.to_owned(), field: "pageToken" }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn page_tokens_never_panic_and_forgeries_fail(input in ".{0,400}") {
        let tokens = tokens();
        prop_assert!(tokens.decode::<u32>(&binding(), &token(&input)).is_err());
    }

    #[test]
    fn any_edit_of_a_valid_page_token_is_refused(offset in 0u32..1_000_000, position in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let tokens = tokens();
        let issued = tokens.encode(&binding(), &offset).expect("encode");
        prop_assert_eq!(tokens.decode::<u32>(&binding(), &token(&issued)).expect("round trip"), offset);
        let mut bytes = issued.into_bytes();
        let at = position.index(bytes.len());
        if bytes[at] != byte {
            bytes[at] = byte;
            let edited = String::from_utf8_lossy(&bytes).into_owned();
            prop_assert!(tokens.decode::<u32>(&binding(), &token(&edited)).is_err(), "edited token accepted");
        }
    }

    #[test]
    fn ids_parse_or_name_the_field(input in "\\PC{0,80}") {
        if let Ok(id) = CustomerId::parse("customerId", &input) {
            prop_assert_eq!(id.to_string(), input.to_ascii_lowercase());
        } else {
            let error = CustomerId::parse("customerId", &input).expect_err("invalid");
            prop_assert_eq!(&error.field_violations()[0].field, "customerId");
        }
        let parsed = [ProductId::parse("productId", &input).map(|p| p.to_string()), OrderId::parse("orderId", &input).map(|o| o.to_string())];
        for text in parsed.into_iter().flatten() {
            prop_assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            prop_assert!(!text.contains(".."));
        }
        let _ = Country::parse("country", &input);
    }

    #[test]
    fn line_item_queries_never_panic(provider in ".{0,20}", kind in ".{0,30}", currency in ".{0,5}", period in ".{0,10}", unbilled in any::<bool>()) {
        let args = LineItemArgs { provider: Some(&provider), line_item_type: Some(&kind), currency_code: Some(&currency), period: Some(&period) };
        if let Ok(query) = LineItemQuery::parse(&args, &REST_FIELDS.line_items, unbilled) {
            prop_assert!(query.currency_code.as_deref().is_none_or(|c| c.len() == 3));
        }
    }

    #[test]
    fn small_parsers_never_panic(input in ".{0,40}") {
        let _ = parse_grpc_timeout(&input);
        let _ = decimal_text(&input);
        if let Ok(amount) = BudgetAmount::parse("amount", &input) {
            prop_assert!(amount.as_str().parse::<f64>().is_ok_and(|a| a >= 0.0), "{}", amount.as_str());
        }
    }

    #[test]
    fn cart_lines_parse_or_name_the_line_and_field(item in ".{0,40}", quantity in any::<i64>(), cycle in ".{0,12}", term in ".{0,6}") {
        let line = CartLineArgs { catalog_item_id: item, quantity, billing_cycle: cycle, term_duration: Some(term), ..CartLineArgs::default() };
        match CartLine::parse_all(vec![line], &REST_FIELDS.cart) {
            Ok(lines) => prop_assert!(lines[0].quantity >= 1),
            Err(error) => prop_assert!(error.field_violations()[0].field.starts_with("lineItems[0].")),
        }
    }

    #[test]
    fn upstream_error_bodies_never_panic(status in 400u16..600, body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let status = http::StatusCode::from_u16(status).expect("status");
        let error = classify(status, &http::HeaderMap::new(), &body);
        prop_assert!(error.kind().spec().http_status >= 400);
    }
}
