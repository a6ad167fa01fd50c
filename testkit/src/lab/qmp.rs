//! A minimal QMP client (qemu's JSON monitor, docs/interop/qmp-spec.rst):
//! one connection per call, `qmp_capabilities`, then one command.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

/// Runs `command` with `arguments` on the QMP socket at `path`; returns the
/// `return` value or the error text.
pub(crate) fn execute(path: &Path, command: &str, arguments: Value) -> Result<Value, String> {
    let stream =
        UnixStream::connect(path).map_err(|e| format!("connect {}: {e}", path.display()))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let mut writer = stream.try_clone().map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream);
    // Greeting.
    read_message(&mut reader)?;
    send(&mut writer, &json!({"execute": "qmp_capabilities"}))?;
    response(&mut reader)?;
    let mut msg = json!({"execute": command});
    if !arguments.is_null()
        && let Some(obj) = msg.as_object_mut()
    {
        obj.insert("arguments".into(), arguments);
    }
    send(&mut writer, &msg)?;
    response(&mut reader)
}

fn send(writer: &mut UnixStream, msg: &Value) -> Result<(), String> {
    let mut line = msg.to_string();
    line.push('\n');
    writer
        .write_all(line.as_bytes())
        .map_err(|e| format!("qmp write: {e}"))
}

fn read_message(reader: &mut BufReader<UnixStream>) -> Result<Value, String> {
    let mut line = String::new();
    let n = reader
        .read_line(&mut line)
        .map_err(|e| format!("qmp read: {e}"))?;
    if n == 0 {
        return Err("qmp connection closed".into());
    }
    serde_json::from_str(&line).map_err(|e| format!("qmp: bad json {line:?}: {e}"))
}

/// Reads until a `return` or `error` (skipping asynchronous events).
fn response(reader: &mut BufReader<UnixStream>) -> Result<Value, String> {
    loop {
        let msg = read_message(reader)?;
        if let Some(ret) = msg.get("return") {
            return Ok(ret.clone());
        }
        if let Some(err) = msg.get("error") {
            return Err(err.to_string());
        }
    }
}
