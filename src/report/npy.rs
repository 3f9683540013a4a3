//! NumPy `.npy` files (format version 1.0) of little-endian f64 in C order: what
//! `numpy.load` reads directly, and what `numpy.save` writes for a float64 array. Reading also
//! accepts float32 (PyTorch's default dtype) and either byte order or memory order, converted
//! exactly to f64 in C order, and says what it converted ([`NpyArray::conversion_note`]).
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

/// A floating-point element type of an `.npy` file, numpy's `descr` (`<f4`, `>f8`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FloatType {
    /// Bytes per value: 4 (float32) or 8 (float64).
    pub bytes: usize,
    /// Whether the values are stored big-endian (`>`); `<` is little-endian, `=` the
    /// machine's order.
    pub big_endian: bool,
}

impl FloatType {
    /// The dtype `plstar` writes and computes in: little-endian float64, `<f8`.
    pub const F64: FloatType = FloatType {
        bytes: 8,
        big_endian: false,
    };

    /// Parses a `descr` string; `None` for anything but a 4- or 8-byte float.
    fn parse(descr: &str) -> Option<FloatType> {
        let (order, kind) = match descr.as_bytes().first()? {
            b'<' | b'|' => (false, &descr[1..]),
            b'>' => (true, &descr[1..]),
            b'=' => (cfg!(target_endian = "big"), &descr[1..]),
            _ => (cfg!(target_endian = "big"), descr),
        };
        let bytes = match kind {
            "f4" => 4,
            "f8" => 8,
            _ => return None,
        };
        Some(FloatType {
            bytes,
            big_endian: order,
        })
    }

    /// `float32` or `float64`, with the byte order when it is big-endian.
    pub fn name(&self) -> String {
        format!(
            "float{}{}",
            8 * self.bytes,
            if self.big_endian { " (big-endian)" } else { "" }
        )
    }

    /// One value as f64: a float32 widens exactly (every float32 is a float64).
    fn value(&self, b: &[u8]) -> f64 {
        match (self.bytes, self.big_endian) {
            (4, false) => f32::from_le_bytes(b.try_into().expect("4 bytes")) as f64,
            (4, true) => f32::from_be_bytes(b.try_into().expect("4 bytes")) as f64,
            (_, false) => f64::from_le_bytes(b.try_into().expect("8 bytes")),
            (_, true) => f64::from_be_bytes(b.try_into().expect("8 bytes")),
        }
    }
}

/// An array read from an `.npy` file: its values as f64 in C (row-major) order, whatever the
/// file's float dtype and order, and what the file held.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    /// The values, converted exactly to f64, in C order.
    pub values: Vec<f64>,
    /// The array's shape.
    pub shape: Vec<usize>,
    /// The stored element type.
    pub dtype: FloatType,
    /// Whether the file stored the values in Fortran (column-major) order, reordered on reading.
    pub fortran_order: bool,
}

impl NpyArray {
    /// What reading changed, for the user: the dtype when it was not little-endian float64, and
    /// the order when it was Fortran's; `None` when the file held `<f8` in C order. Every
    /// conversion is exact (float32 → float64 widens; byte order and reordering move bits).
    pub fn conversion_note(&self) -> Option<String> {
        let mut done = vec![];
        if self.dtype != FloatType::F64 {
            done.push(format!(
                "converted {} values from {} to float64 (exact)",
                self.values.len(),
                self.dtype.name()
            ));
        }
        if self.fortran_order {
            done.push("reordered from Fortran (column-major) to C order".to_string());
        }
        (!done.is_empty()).then(|| done.join("; "))
    }
}

/// Reads an `.npy` file of any float32 or float64 array (either byte order, C or Fortran
/// order, format version 1, 2 or 3); returns the values in C order as f64 (exact) and the shape.
/// [`read_array`] also says what was converted.
pub fn read(path: &Path) -> Result<(Vec<f64>, Vec<usize>)> {
    let a = read_array(path)?;
    Ok((a.values, a.shape))
}

/// Reads a vector of `len` values stored as an `.npy` array of any shape with `len` elements
/// (`[len]`, `[1, len]`, `[len, 1]`, …: PyTorch's `w.detach().numpy()` of a row), taken in C
/// order, float32 or float64. Returns the values (exact f64) and a note saying what was
/// converted (dtype, order, shape flattened), `None` when the file held `<f8` of shape `[len]`.
///
/// Refuses an array whose element count is not `len`, naming its shape.
pub fn read_vector(path: &Path, len: usize) -> Result<(Vec<f64>, Option<String>)> {
    let a = read_array(path)?;
    if a.values.len() != len {
        return Err(Error::File {
            path: path.to_path_buf(),
            message: format!(
                "holds an array of shape {:?} ({} values), but the model has p = {len} \
                 parameters; pass the parameters.npy of a run with the same model and data \
                 dimension",
                a.shape,
                a.values.len()
            ),
        });
    }
    let mut note = a.conversion_note();
    if a.shape.len() != 1 {
        let flat = format!("flattened shape {:?} to [{len}] (C order)", a.shape);
        note = Some(match note {
            Some(n) => format!("{n}; {flat}"),
            None => flat,
        });
    }
    Ok((a.values, note))
}

/// The quoted value after `'key':` in a header dictionary (either quote style).
fn header_string<'h>(header: &'h str, key: &str) -> Option<&'h str> {
    let at = header
        .find(&format!("'{key}':"))
        .or_else(|| header.find(&format!("\"{key}\":")))?;
    let rest = header[at + key.len() + 3..].trim_start();
    let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let rest = &rest[1..];
    rest.find(quote).map(|end| &rest[..end])
}

/// Reads an `.npy` file of a float32 or float64 array into f64, in C order (see [`NpyArray`]).
pub fn read_array(path: &Path) -> Result<NpyArray> {
    let bad = |message: String| Error::File {
        path: path.to_path_buf(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read the file: {e}")))?;
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(bad(
            "not a .npy file (it does not start with numpy's \\x93NUMPY header): pass a file \
             numpy.save wrote, e.g. np.save('w.npy', w) or a run's parameters.npy"
                .into(),
        ));
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
    let descr = header_string(header, "descr")
        .ok_or_else(|| bad(format!("no 'descr' in header {}", header.trim())))?;
    let dtype = FloatType::parse(descr).ok_or_else(|| {
        bad(format!(
            "dtype {descr:?} is not supported: only float32 and float64 arrays are read \
             (either byte order); in numpy: np.save(path, a.astype('<f8'))"
        ))
    })?;
    let fortran_order =
        header.contains("'fortran_order': True") || header.contains("\"fortran_order\": True");
    let shape_text = header
        .split("'shape':")
        .nth(1)
        .or_else(|| header.split("\"shape\":").nth(1))
        .and_then(|s| s.split(')').next())
        .map(|s| s.trim().trim_start_matches('('))
        .ok_or_else(|| bad(format!("no shape in header {}", header.trim())))?;
    let shape: Vec<usize> = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().map_err(|_| bad(format!("bad shape entry {s:?}"))))
        .collect::<Result<_>>()?;
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| {
            bad(format!(
                "shape {shape:?} has more elements than fit in memory"
            ))
        })?;
    let data = &bytes[start + header_len..];
    if Some(data.len()) != count.checked_mul(dtype.bytes) {
        return Err(bad(format!(
            "expected {count} {} values ({} bytes) for shape {shape:?}, found {} bytes",
            dtype.name(),
            count.saturating_mul(dtype.bytes),
            data.len()
        )));
    }
    let stored: Vec<f64> = data
        .chunks_exact(dtype.bytes)
        .map(|c| dtype.value(c))
        .collect();
    let values = if fortran_order && shape.iter().filter(|&&d| d > 1).count() > 1 {
        c_order_from_fortran(&stored, &shape)
    } else {
        // At most one axis longer than 1: both orders list the values alike.
        stored
    };
    Ok(NpyArray {
        values,
        shape,
        dtype,
        fortran_order,
    })
}

/// The values of a Fortran-ordered array (first index fastest) in C order (last index fastest).
fn c_order_from_fortran(stored: &[f64], shape: &[usize]) -> Vec<f64> {
    let mut strides = vec![1; shape.len()];
    for a in 1..shape.len() {
        strides[a] = strides[a - 1] * shape[a - 1];
    }
    let mut index = vec![0; shape.len()];
    let mut out = Vec::with_capacity(stored.len());
    for _ in 0..stored.len() {
        out.push(
            stored[index
                .iter()
                .zip(&strides)
                .map(|(i, s)| i * s)
                .sum::<usize>()],
        );
        for a in (0..shape.len()).rev() {
            index[a] += 1;
            if index[a] < shape[a] {
                break;
            }
            index[a] = 0;
        }
    }
    out
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

    /// `encode`'s bytes with the header's dtype and order replaced (same length: the data
    /// offset and padding stay), and the data replaced by `data`.
    fn with_header(values: &[f64], shape: &[usize], from: &str, to: &str, data: &[u8]) -> Vec<u8> {
        let mut bytes = encode(values, shape);
        let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
        let header = std::str::from_utf8(&bytes[10..10 + header_len]).unwrap();
        let replaced = header.replacen(from, to, 1);
        assert_eq!(replaced.len(), header.len());
        bytes.truncate(10);
        bytes.extend_from_slice(replaced.as_bytes());
        bytes.extend_from_slice(data);
        bytes
    }

    fn read_bytes(name: &str, bytes: &[u8]) -> Result<NpyArray> {
        let path =
            std::env::temp_dir().join(format!("plstar-npy-{}-{name}.npy", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        let a = read_array(&path);
        std::fs::remove_file(&path).unwrap();
        a
    }

    /// A Fortran-ordered `[2, 3]` array stores its columns one after the other; it reads back in
    /// C order, with a note. A `<f2` (half) array is refused naming its dtype and the fix.
    #[test]
    fn fortran_order_is_reordered_and_half_precision_is_refused() {
        let c_order = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let columns: Vec<u8> = [1.0f64, 4.0, 2.0, 5.0, 3.0, 6.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let bytes = with_header(
            &c_order,
            &[2, 3],
            "'fortran_order': False",
            "'fortran_order': True ",
            &columns,
        );
        let a = read_bytes("fortran", &bytes).unwrap();
        assert_eq!(
            (a.values.as_slice(), a.shape.as_slice()),
            (&c_order[..], &[2, 3][..])
        );
        assert!(a.conversion_note().unwrap().contains("Fortran"));

        let bytes = with_header(&[1.0], &[1], "<f8", "<f2", &[0, 60]);
        let err = read_bytes("half", &bytes).unwrap_err().to_string();
        assert!(
            err.contains("\"<f2\" is not supported") && err.contains("astype('<f8')"),
            "{err}"
        );
    }

    #[test]
    fn write_then_read_round_trips() {
        let path = std::env::temp_dir().join(format!("plstar-npy-{}.npy", std::process::id()));
        let values: Vec<f64> = (0..12).map(|i| i as f64 * -0.5).collect();
        write(&path, &values, &[3, 4]).unwrap();
        assert_eq!(read(&path).unwrap(), (values.clone(), vec![3, 4]));
        assert_eq!(read_array(&path).unwrap().conversion_note(), None);
        std::fs::remove_file(&path).unwrap();
    }
}
