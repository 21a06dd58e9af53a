//! The browser harness itself, against a tiny page served from this test: a real headless Chromium
//! loads images, takes keyboard focus in order, types, submits a form, keeps an HttpOnly cookie
//! from scripts, reports console errors, takes a file upload, and shows a QR code that decodes
//! back to its payload.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

use fieldseal_tests::browser::{Browser, decode_qr};

/// Made once with the `qrcode` crate (`QrCode::new("hello, fieldseal")`, 6-pixel modules, quiet zone).
const QR_FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/qr-hello.png");
const QR_PNG: &[u8] = include_bytes!("../fixtures/qr-hello.png");
const QR_PAYLOAD: &str = "hello, fieldseal";
const PIXEL_W: u32 = 40;
const PIXEL_H: u32 = 24;

const PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>fieldseal smoke</title></head>
<body>
<h1 id="heading">Smoke page</h1>
<form id="f" action="/done" method="get">
  <label for="name">Name</label>
  <input id="name" name="name" autocomplete="off">
  <button id="send" type="submit">Send</button>
</form>
<img id="pixel" src="/pixel.png" alt="a test pattern">
<img id="qr" src="/qr.png" alt="QR code for the payload">
<label for="photo">Photo</label> <input type="file" id="photo" accept="image/png">
<script>console.error("smoke: deliberate console error");</script>
</body></html>
"#;

#[test]
fn headless_chromium_drives_a_page_like_a_user() {
    let base = serve();
    let b = Browser::start("browser_smoke", 800, 600).expect("the browser starts");

    b.goto(&format!("{base}/")).expect("opens the page");
    assert_eq!(b.title().expect("title"), "fieldseal smoke");
    assert_eq!(b.text("#heading").expect("heading"), "Smoke page");
    let shot = b.screenshot("page loaded").expect("screenshot");
    assert_eq!(shot.file_name().and_then(|n| n.to_str()), Some("01-page-loaded.png"));
    let img = image::open(&shot).expect("the screenshot is a PNG");
    assert_eq!((img.width(), img.height()), (800, 600), "the viewport is the window size asked for");

    // Images really loaded (naturalWidth is 0 for a broken image).
    let width = |css: &str| b.eval(&format!("return document.querySelector('{css}').naturalWidth")).expect("eval");
    assert_eq!(width("#pixel"), serde_json::json!(PIXEL_W));
    assert_eq!(width("#qr"), serde_json::json!(198));
    assert_eq!(b.attr("#pixel", "alt").expect("alt"), Some("a test pattern".to_owned()));
    assert_eq!(b.attr("#name", "placeholder").expect("attr"), None);
    assert!(b.exists("#name").expect("exists"));
    assert!(!b.exists("#no-such-element").expect("exists"));
    let err = b.click("#no-such-element").expect_err("a missing element is an error");
    assert!(err.to_string().contains("#no-such-element"), "the error names the selector: {err}");

    // Keyboard only: Tab goes to the field, then to the button.
    assert_eq!(b.focused_element_id().expect("focus"), "");
    b.press_tab().expect("tab");
    assert_eq!(b.focused_element_id().expect("focus"), "name");
    b.press_tab().expect("tab");
    assert_eq!(b.focused_element_id().expect("focus"), "send");

    b.type_into("#name", "Ada Lovelace").expect("types");
    assert_eq!(b.value("#name").expect("value").as_deref(), Some("Ada Lovelace"));
    b.type_into("#name", "Grace Hopper").expect("types");
    assert_eq!(b.value("#name").expect("value").as_deref(), Some("Grace Hopper"), "typing clears the field first");
    b.screenshot("typed").expect("screenshot");

    // The QR code as the browser renders it decodes back to its payload; the test pattern does not decode.
    assert_eq!(decode_qr(&b.element_png("#qr").expect("element screenshot")).expect("decodes"), QR_PAYLOAD);
    let pixel = b.element_png("#pixel").expect("element screenshot");
    let pixel_img = image::load_from_memory(&pixel).expect("a PNG");
    assert_eq!((pixel_img.width(), pixel_img.height()), (PIXEL_W, PIXEL_H));
    assert!(decode_qr(&pixel).is_err(), "a picture without a QR code is not decoded");

    b.attach_file("#photo", Path::new(QR_FIXTURE)).expect("attaches");
    let picked = b.eval("const f = document.querySelector('#photo').files[0]; return [f.name, f.size]").expect("eval");
    assert_eq!(picked, serde_json::json!(["qr-hello.png", QR_PNG.len()]));

    // The HttpOnly cookie is kept but hidden from scripts; the page's console error is reported.
    let cookies = b.cookies().expect("cookies");
    let smoke = cookies.iter().find(|c| c.name == "smoke").expect("the server's cookie is kept");
    assert_eq!((smoke.value.as_str(), smoke.http_only), ("1", Some(true)));
    assert_eq!(b.eval("return document.cookie").expect("eval"), serde_json::json!(""));
    let errors = b.console_errors().expect("console");
    assert!(errors.iter().any(|e| e.contains("deliberate console error")), "{errors:?}");

    b.submit_form("#f").expect("submits");
    b.wait_for("#greeting").expect("the answer page loads");
    assert_eq!(b.text("#greeting").expect("greeting"), "Hello, Grace Hopper");
    assert!(b.current_url().expect("url").ends_with("/done?name=Grace+Hopper"), "{}", b.current_url().expect("url"));
    b.screenshot("submitted").expect("screenshot");

    b.back().expect("back");
    b.wait_for("#f").expect("the form again");
    assert_eq!(b.current_url().expect("url"), format!("{base}/"));

    b.set_window(400, 300).expect("resizes");
    let narrow = image::open(b.screenshot("narrow").expect("screenshot")).expect("a PNG");
    assert_eq!((narrow.width(), narrow.height()), (400, 300));

    let saved: Vec<String> = std::fs::read_dir(b.artefacts_dir())
        .expect("artefacts")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    for name in ["01-page-loaded.png", "02-typed.png", "03-submitted.png", "04-narrow.png"] {
        assert!(saved.iter().any(|s| s == name), "{name} is among the artefacts: {saved:?}");
    }
}

/// Serves the page, its two images and the form's answer page on a free loopback port.
fn serve() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            // One thread each: Chromium opens speculative connections that may never send a request.
            std::thread::spawn(move || answer(stream));
        }
    });
    base
}

fn answer(mut stream: TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let target = head.split_whitespace().nth(1).unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let (status, ctype, extra, body): (&str, &str, &str, Vec<u8>) = match path {
        "/" => {
            ("200 OK", "text/html; charset=utf-8", "Set-Cookie: smoke=1; HttpOnly; SameSite=Strict\r\n", PAGE.into())
        }
        "/pixel.png" => ("200 OK", "image/png", "", pattern_png()),
        "/qr.png" => ("200 OK", "image/png", "", QR_PNG.to_vec()),
        "/done" => {
            let name = query.split('&').find_map(|kv| kv.strip_prefix("name=")).map(form_decode).unwrap_or_default();
            let html = format!(
                "<!doctype html><html><head><title>done</title></head><body><p id=\"greeting\">Hello, {}</p></body></html>",
                escape(&name)
            );
            ("200 OK", "text/html; charset=utf-8", "", html.into_bytes())
        }
        _ => ("404 Not Found", "text/plain", "", b"not found".to_vec()),
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n{extra}Cache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(&body);
}

/// A small PNG test pattern with no QR code in it.
fn pattern_png() -> Vec<u8> {
    let img = image::RgbImage::from_fn(PIXEL_W, PIXEL_H, |x, y| {
        if (x / 8 + y / 8) % 2 == 0 { image::Rgb([200, 30, 30]) } else { image::Rgb([30, 30, 200]) }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).expect("encodes a PNG");
    out.into_inner()
}

/// Decodes an `application/x-www-form-urlencoded` value.
fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(b) => {
                    out.push(b);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}
