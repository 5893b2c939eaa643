//! TensorBoard event files with scalars, written without TensorFlow: TFRecord framing (length,
//! masked CRC-32C, payload, masked CRC-32C) around `Event` protocol buffers, encoded by hand
//! (`wall_time` 1, `step` 2, `file_version` 3, `summary` 5 → `value` 1 → `tag` 1,
//! `simple_value` 2).

use std::io::Write;
use std::path::{Path, PathBuf};

/// CRC-32C (Castagnoli), as TFRecord uses it.
pub fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for b in bytes {
        crc ^= *b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn masked(crc: u32) -> u32 {
    crc.rotate_right(15).wrapping_add(0xA282_EAD8)
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A length-delimited field.
fn bytes_field(field: u32, data: &[u8], out: &mut Vec<u8>) {
    varint(((field << 3) | 2) as u64, out);
    varint(data.len() as u64, out);
    out.extend_from_slice(data);
}

/// One `Event` with either a file version or scalar values.
fn event(wall_time: f64, step: i64, file_version: Option<&str>, scalars: &[(&str, f32)]) -> Vec<u8> {
    let mut e = Vec::new();
    e.push((1 << 3) | 1);
    e.extend_from_slice(&wall_time.to_le_bytes());
    varint(2 << 3, &mut e);
    varint(step as u64, &mut e);
    if let Some(v) = file_version {
        bytes_field(3, v.as_bytes(), &mut e);
    }
    if !scalars.is_empty() {
        let mut summary = Vec::new();
        for (tag, value) in scalars {
            let mut v = Vec::new();
            bytes_field(1, tag.as_bytes(), &mut v);
            v.push((2 << 3) | 5);
            v.extend_from_slice(&value.to_le_bytes());
            bytes_field(1, &v, &mut summary);
        }
        bytes_field(5, &summary, &mut e);
    }
    e
}

/// The TFRecord frame of one record.
fn record(data: &[u8]) -> Vec<u8> {
    let len = (data.len() as u64).to_le_bytes();
    let mut out = Vec::with_capacity(data.len() + 16);
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked(crc32c(&len)).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked(crc32c(data)).to_le_bytes());
    out
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// An event file under `<run>/tensorboard/` (a resumed run adds a file; TensorBoard reads them
/// together).
pub struct EventWriter {
    file: std::fs::File,
    pub path: PathBuf,
}

impl EventWriter {
    pub fn create(dir: &Path) -> Result<EventWriter, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let t = now();
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "zoo".into());
        let path = dir.join(format!(
            "events.out.tfevents.{}.{host}.{}",
            t as u64,
            std::process::id()
        ));
        let file = std::fs::OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(&path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        let mut w = EventWriter { file, path };
        w.write(&event(t, 0, Some("brain.Event:2"), &[]))?;
        Ok(w)
    }

    fn write(&mut self, data: &[u8]) -> Result<(), String> {
        self.file
            .write_all(&record(data))
            .and_then(|_| self.file.flush())
            .map_err(|e| format!("cannot write {}: {e}", self.path.display()))
    }

    /// Scalars at one global step.
    pub fn scalars(&mut self, step: i64, values: &[(&str, f32)]) -> Result<(), String> {
        self.write(&event(now(), step, None, values))
    }
}

/// The scalars of an event file: (step, tag, value) in order, CRCs checked.
pub fn read_scalars(path: &Path) -> Result<Vec<(i64, String, f32)>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut out = Vec::new();
    let mut at = 0;
    let bad = |what: &str| format!("{}: {what}", path.display());
    while at < bytes.len() {
        let header = bytes.get(at..at + 12).ok_or_else(|| bad("truncated record header"))?;
        let len = u64::from_le_bytes(header[..8].try_into().unwrap_or_default()) as usize;
        if masked(crc32c(&header[..8])).to_le_bytes() != header[8..12] {
            return Err(bad("bad length checksum"));
        }
        let data = bytes
            .get(at + 12..at + 12 + len)
            .ok_or_else(|| bad("truncated record"))?;
        let crc = bytes
            .get(at + 12 + len..at + 16 + len)
            .ok_or_else(|| bad("truncated record"))?;
        if masked(crc32c(data)).to_le_bytes() != crc {
            return Err(bad("bad data checksum"));
        }
        parse_event(data, &mut out).ok_or_else(|| bad("not an Event"))?;
        at += 16 + len;
    }
    Ok(out)
}

fn read_varint(b: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*at)?;
        *at += 1;
        v |= ((byte & 0x7F) as u64) << shift;
        if byte < 0x80 {
            return Some(v);
        }
    }
    None
}

/// The fields of a message: (field number, wire type, payload bytes or the varint value).
fn fields(b: &[u8]) -> Option<Vec<(u32, &[u8], u64)>> {
    let mut at = 0;
    let mut out = Vec::new();
    while at < b.len() {
        let key = read_varint(b, &mut at)?;
        let (field, wire) = ((key >> 3) as u32, key & 7);
        match wire {
            0 => out.push((field, &b[0..0], read_varint(b, &mut at)?)),
            1 => {
                out.push((field, b.get(at..at + 8)?, 0));
                at += 8;
            }
            2 => {
                let n = read_varint(b, &mut at)? as usize;
                out.push((field, b.get(at..at + n)?, 0));
                at += n;
            }
            5 => {
                out.push((field, b.get(at..at + 4)?, 0));
                at += 4;
            }
            _ => return None,
        }
    }
    Some(out)
}

fn parse_event(data: &[u8], out: &mut Vec<(i64, String, f32)>) -> Option<()> {
    let f = fields(data)?;
    let step = f.iter().find(|x| x.0 == 2).map_or(0, |x| x.2 as i64);
    for (_, summary, _) in f.iter().filter(|x| x.0 == 5) {
        for (_, value, _) in fields(summary)?.iter().filter(|x| x.0 == 1) {
            let v = fields(value)?;
            let tag = v.iter().find(|x| x.0 == 1)?.1;
            let val = v.iter().find(|x| x.0 == 2)?.1;
            out.push((
                step,
                String::from_utf8_lossy(tag).into_owned(),
                f32::from_le_bytes(val.try_into().ok()?),
            ));
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_is_castagnolis() {
        // The check value of CRC-32C.
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn scalars_round_trip_through_an_event_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = EventWriter::create(dir.path()).unwrap();
        w.scalars(30, &[("training/total", 0.5), ("misc/learning_rate", 1e-3)])
            .unwrap();
        w.scalars(60, &[("training/total", 0.25)]).unwrap();
        let got = read_scalars(&w.path).unwrap();
        assert_eq!(
            got,
            vec![
                (30, "training/total".to_string(), 0.5),
                (30, "misc/learning_rate".to_string(), 1e-3),
                (60, "training/total".to_string(), 0.25)
            ]
        );
    }
}
