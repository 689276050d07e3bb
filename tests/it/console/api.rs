//! The console's JSON twins, asked by a script with a bearer token.

use super::{FRONT, OPS, http, serve};

/// A GET with an `Authorization` header: (status, body).
fn get(base: &str, path: &str, authorization: &str) -> (u16, String) {
    http(base, "GET", path, &[("Authorization", authorization)], "")
}

#[test]
fn the_json_twins_answer_scripts_with_the_api_roles() {
    let tmp = tempfile::tempdir().unwrap();
    let (_s, base) = serve(tmp.path());
    let bearer = |t: &str| format!("Bearer {t}");
    // no token, a wrong one, a frontend one
    assert_eq!(http(&base, "GET", "/api/lenders", &[], "").0, 401);
    let (code, body) = get(&base, "/api/lenders", &bearer("nope"));
    assert_eq!(code, 401, "{body}");
    let (code, body) = get(&base, "/api/lenders", &bearer(FRONT));
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("frontend token"), "{body}");
    // an ops token: the table, filtered, sorted and paged as the page is
    let auth = bearer(OPS);
    let (code, body) = get(
        &base,
        "/api/lenders?per=7&page=2&sort=open&desc=true",
        &auth,
    );
    assert_eq!(code, 200, "{body}");
    let t: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(t["total"], 60);
    assert_eq!(t["pages"], 9);
    assert_eq!(t["page"], 2);
    let rows = t["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 7);
    let open: Vec<u64> = rows.iter().map(|r| r["open"].as_u64().unwrap()).collect();
    assert!(open.windows(2).all(|w| w[0] >= w[1]), "{open:?}");
    let (_, body) = get(&base, "/api/lenders?q=l00005", &auth);
    let t: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(t["total"], 1, "{body}");
    assert_eq!(t["rows"][0]["symbol"], "L00005");
    let (code, body) = get(&base, "/api/lenders?sort=bogus", &auth);
    assert_eq!(code, 400);
    assert!(body.contains("sort"), "{body}");
    // one lender: its row and its directory entry
    let (code, body) = get(&base, "/api/lenders/L00005", &auth);
    assert_eq!(code, 200, "{body}");
    let d: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(d["entry"]["symbol"], "L00005");
    assert_eq!(get(&base, "/api/lenders/NOPE", &auth).0, 404);
    // a profile saved by a script needs the version it read, and no CSRF token
    let (_, body) = get(&base, "/api/profiles/default", &auth);
    let mut v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["version"], 0);
    v["profile"]["adjustments"]["cost"] = serde_json::json!(0.3);
    let json = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let (code, body) = http(&base, "PUT", "/api/profiles/default", &json, &v.to_string());
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("\"version\":1"), "{body}");
    let (code, body) = http(&base, "PUT", "/api/profiles/default", &json, &v.to_string());
    assert_eq!(
        code, 409,
        "a second save from the same read is stale: {body}"
    );
    let (_, body) = get(&base, "/api/profiles/default", &auth);
    let now: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(now["profile"]["adjustments"]["cost"], 0.3);
    v["version"] = serde_json::json!(1);
    v["profile"]["weights"]["load"] = serde_json::json!(-1.0);
    let (code, body) = http(&base, "PUT", "/api/profiles/default", &json, &v.to_string());
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("weights.load"), "{body}");
}
