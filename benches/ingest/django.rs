//! The second load shape (`--shape django`): a Django app's errors as sentry-python sends them
//! without compression. ~2.4 KB events from `issues` distinct stack traces, each with three
//! custom tags, a user id, a release and an environment; what differs between requests (time,
//! URL, user, trace ids, tag values) differs the way real traffic does.

use serde_json::{Value, json};

use crate::vary::{hex, rand};

/// `issues` stack traces × `variants` versions of each.
pub fn templates(issues: usize, variants: usize) -> Vec<Value> {
    let now = crate::vary::now();
    (0..issues)
        .flat_map(|n| {
            (0..variants).map(move |_| {
                let order = rand() % 100_000;
                let region = ["eu-west-1", "us-east-1", "ap-south-1"][(rand() % 3) as usize];
                let flow = ["classic", "one-page"][(rand() % 2) as usize];
                json!({
                    "platform": "python",
                    "level": "error",
                    "logger": "django.request",
                    "timestamp": now - (rand() % 3_600_000) as f64 / 1000.0,
                    "server_name": format!("web-{}", rand() % 4),
                    "release": "shop@2.14.0",
                    "environment": "production",
                    "transaction": "/orders/<int:order_id>/",
                    "exception": {"values": [{
                        "type": "KeyError",
                        "value": format!("'sku_{n}'"),
                        "mechanism": {"type": "django", "handled": false},
                        "stacktrace": {"frames": frames(n)},
                    }]},
                    "request": {
                        "url": format!("https://shop.example.com/orders/{order}/"),
                        "method": "GET",
                        "query_string": format!("page={}", rand() % 9),
                        "headers": {
                            "Host": "shop.example.com",
                            "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36",
                            "Accept": "text/html,application/xhtml+xml",
                            "Accept-Language": "en-GB,en;q=0.9",
                        },
                    },
                    "user": {"id": format!("{}", rand() % 50_000)},
                    "tags": {
                        "tenant": format!("tenant-{}", rand() % 20),
                        "region": region,
                        "checkout_flow": flow,
                    },
                    "contexts": {
                        "runtime": {"name": "CPython", "version": "3.12.3"},
                        "trace": {"trace_id": hex(), "span_id": hex()[..16].to_string(), "op": "http.server"},
                    },
                    "breadcrumbs": {"values": [
                        {"timestamp": now - 2.0, "category": "query", "level": "info",
                         "message": format!("SELECT \"shop_order\".\"id\" FROM \"shop_order\" WHERE \"shop_order\".\"id\" = {order}")},
                        {"timestamp": now - 1.0, "category": "cache", "level": "info", "message": "GET pricing:v2"},
                    ]},
                    "sdk": {"name": "sentry.python.django", "version": "2.19.0"},
                })
            })
        })
        .collect()
}

/// Django's request path down to the app's failing line; the app's frames differ per issue.
fn frames(n: usize) -> Value {
    let frame = |file: &str, module: &str, function: &str, line: usize, code: &str, in_app: bool| {
        json!({
            "filename": file, "abs_path": format!("/srv/shop/{file}"), "module": module,
            "function": function, "lineno": line, "context_line": code,
            "pre_context": ["", "    # see the pricing rules"], "post_context": [""], "in_app": in_app,
        })
    };
    json!([
        frame(
            "django/core/handlers/exception.py",
            "django.core.handlers.exception",
            "inner",
            55,
            "    response = get_response(request)",
            false
        ),
        frame(
            "django/core/handlers/base.py",
            "django.core.handlers.base",
            "_get_response",
            197,
            "    response = wrapped_callback(request, *callback_args, **callback_kwargs)",
            false
        ),
        frame(
            "shop/views.py",
            "shop.views",
            &format!("order_detail_{}", n % 7),
            40 + n,
            "    total = pricing.total_for(order)",
            true
        ),
        frame(
            "shop/pricing.py",
            "shop.pricing",
            &format!("price_for_{n}"),
            100 + 3 * n,
            &format!("    return PRICES[item.sku_{n}]"),
            true
        ),
    ])
}
