//! Arbitrary bytes on the language server's stdin: the frame reader of `transport.rs` (the one
//! `serve` runs) and the body classifier. Two properties:
//!
//! * raw input: reading never panics and ends; every body is at most the input's size;
//! * the input cut at 0xFF bytes into bodies, each framed with a correct `Content-Length`
//!   (every other one with a `Content-Type` too, and garbage between some frames): the reader
//!   returns exactly those bodies, in order, whatever they contain.

#![no_main]

use libfuzzer_sys::fuzz_target;
use playbook_lsp::transport::{classify_body, split_frames};

fuzz_target!(|data: &[u8]| {
    let frames = split_frames(data);
    for body in frames.iter().flatten() {
        assert!(body.len() <= data.len());
        if let Err(code) = classify_body(body) {
            assert!(code == -32700 || code == -32600, "unexpected error code {code}");
        }
    }

    let bodies: Vec<&[u8]> = data.split(|&b| b == 0xFF).collect();
    let mut stream = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        if i % 3 == 2 {
            stream.extend_from_slice(b"\r\n"); // a blank line between messages is tolerated
        }
        stream.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
        if i % 2 == 1 {
            stream.extend_from_slice(b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n");
        }
        stream.extend_from_slice(b"\r\n");
        stream.extend_from_slice(body);
    }
    let got = split_frames(&stream);
    let want: Vec<Option<Vec<u8>>> = bodies.iter().map(|b| Some(b.to_vec())).collect();
    assert_eq!(got, want, "well-framed bodies come back as they were sent");
});
