//! NumPy `.npy` files (format version 1.0) of little-endian f64 in C order: what
//! `numpy.load` reads directly, and what `numpy.save` writes for a float64 array.
//!
//! Layout: the magic `\x93NUMPY`, version `1 0`, a little-endian u16 header length, an ASCII
//! header `{'descr': '<f8', 'fortran_order': False, 'shape': (…), }` padded with spaces and a
//! newline so that the data starts at a multiple of 64 bytes, then the values.

use std::path::Path;

use crate::error::{Error, Result};
use crate::report::files::write_atomic;

const MAGIC: &[u8] = b"\x93NUMPY";

/// Encodes `values` with `shape` as `.npy` bytes.
pub fn encode(values: &[f64], shape: &[usize]) -> Vec<u8> {
    assert_eq!(
        values.len(),
        shape.iter().product::<usize>(),
        "shape does not match"
    );
    let dims = match shape {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {dims}, }}");
    let unpadded = MAGIC.len() + 2 + 2 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(MAGIC.len() + 4 + header.len() + 8 * values.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Writes an `.npy` file atomically.
pub fn write(path: &Path, values: &[f64], shape: &[usize]) -> Result<()> {
    write_atomic(path, &encode(values, shape))
}

/// Reads an `.npy` file of little-endian f64 in C order; returns the values and the shape.
pub fn read(path: &Path) -> Result<(Vec<f64>, Vec<usize>)> {
    let bad = |message: String| Error::Data {
        path: path.to_path_buf(),
        line: 0,
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read the file: {e}")))?;
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(bad("not a .npy file (no \\x93NUMPY magic)".into()));
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(bad(format!(".npy format version {v} is not supported"))),
    };
    let header = std::str::from_utf8(
        bytes
            .get(start..start + header_len)
            .ok_or_else(|| bad("truncated header".into()))?,
    )
    .map_err(|_| bad("the header is not text".into()))?;
    if !header.contains("'descr': '<f8'") {
        return Err(bad(format!(
            "only little-endian float64 arrays are supported, header: {}; in numpy: np.save(path, a.astype('<f8'))",
            header.trim()
        )));
    }
    if header.contains("'fortran_order': True") {
        return Err(bad(
            "Fortran-ordered arrays are not supported; save np.ascontiguousarray(a)".into(),
        ));
    }
    let shape_text = header
        .split("'shape':")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .map(|s| s.trim().trim_start_matches('('))
        .ok_or_else(|| bad(format!("no shape in header {}", header.trim())))?;
    let shape: Vec<usize> = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| bad(format!("bad shape entry {s:?}"))))
        .collect::<Result<_>>()?;
    let count: usize = shape.iter().product();
    let data = &bytes[start + header_len..];
    if data.len() != 8 * count {
        return Err(bad(format!(
            "expected {count} float64 values ({} bytes) for shape {shape:?}, found {} bytes",
            8 * count,
            data.len()
        )));
    }
    let values = data
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect();
    Ok((values, shape))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_the_one_numpy_writes_and_data_is_64_byte_aligned() {
        let bytes = encode(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
        assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        assert_eq!((10 + header_len) % 64, 0);
        let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
        // numpy.save(…, np.zeros((2, 3))) writes exactly this dictionary.
        assert!(header.starts_with("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }"));
        assert!(header.ends_with('\n'));
        assert_eq!(
            &bytes[10 + header_len..10 + header_len + 8],
            &1.0f64.to_le_bytes()
        );
        let one_d = encode(&[1.0], &[1]);
        let len = u16::from_le_bytes([one_d[8], one_d[9]]) as usize;
        assert!(std::str::from_utf8(&one_d[10..10 + len])
            .unwrap()
            .contains("'shape': (1,)"));
    }

    #[test]
    fn write_then_read_round_trips() {
        let path = std::env::temp_dir().join(format!("plstar-npy-{}.npy", std::process::id()));
        let values: Vec<f64> = (0..12).map(|i| i as f64 * -0.5).collect();
        write(&path, &values, &[3, 4]).unwrap();
        assert_eq!(read(&path).unwrap(), (values, vec![3, 4]));
        std::fs::remove_file(&path).unwrap();
    }
}
