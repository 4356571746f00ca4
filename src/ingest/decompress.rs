//! Transparent decompression of `.gz`, `.zst` and `.xz` inputs, detected by magic bytes
//! (not by file name), with a limit on the decompressed size against decompression bombs.
//! A truncated or corrupt archive yields what could be recovered plus an error.

use std::io::Read;

/// A compression format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    /// Not compressed.
    None,
    /// gzip (possibly several members).
    Gzip,
    /// Zstandard.
    Zstd,
    /// xz.
    Xz,
}

impl Compression {
    /// Detects compression from the first bytes.
    pub fn detect(b: &[u8]) -> Compression {
        if b.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if b.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else if b.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Compression::Xz
        } else {
            Compression::None
        }
    }
    /// Name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Xz => "xz",
        }
    }
}

/// Why decompression stopped.
#[derive(Debug, thiserror::Error)]
pub enum DecompressError {
    /// The stream is corrupt or truncated.
    #[error("corrupt or truncated {kind} data after {at} decompressed bytes: {source}")]
    Corrupt {
        /// Compression name.
        kind: &'static str,
        /// Decompressed bytes before the error.
        at: u64,
        /// The decoder's error.
        #[source]
        source: std::io::Error,
    },
    /// The output exceeds the limit.
    #[error(
        "{kind} data expands to more than {limit} bytes (decompression bomb?); raise --max-decompressed to read it"
    )]
    TooLarge {
        /// Compression name.
        kind: &'static str,
        /// The limit in bytes.
        limit: u64,
    },
}

/// Decompresses `data`. On error returns the bytes recovered so far with the error.
pub fn decompress(
    kind: Compression,
    data: &[u8],
    limit: u64,
) -> Result<Vec<u8>, (Vec<u8>, DecompressError)> {
    let name = kind.as_str();
    let reader: Box<dyn Read + '_> = match kind {
        Compression::None => return Ok(data.to_vec()),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(data)),
        Compression::Zstd => match zstd::stream::read::Decoder::new(data) {
            Ok(d) => Box::new(d),
            Err(e) => {
                return Err((
                    Vec::new(),
                    DecompressError::Corrupt {
                        kind: name,
                        at: 0,
                        source: e,
                    },
                ));
            }
        },
        Compression::Xz => Box::new(liblzma::read::XzDecoder::new_multi_decoder(data)),
    };
    let mut out = Vec::with_capacity((data.len() * 4).min(limit as usize));
    let mut limited = reader.take(limit.saturating_add(1));
    match limited.read_to_end(&mut out) {
        Ok(_) if out.len() as u64 > limit => {
            out.truncate(limit as usize);
            Err((out, DecompressError::TooLarge { kind: name, limit }))
        }
        Ok(_) => Ok(out),
        Err(e) => {
            let at = out.len() as u64;
            Err((
                out,
                DecompressError::Corrupt {
                    kind: name,
                    at,
                    source: e,
                },
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(b: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(b).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn round_trips_every_kind() {
        let text = b"line one\nline two\n".repeat(100);
        let z = zstd::encode_all(&text[..], 3).unwrap();
        let mut x = Vec::new();
        liblzma::read::XzEncoder::new(&text[..], 6)
            .read_to_end(&mut x)
            .unwrap();
        for (kind, data) in [
            (Compression::Gzip, gz(&text)),
            (Compression::Zstd, z),
            (Compression::Xz, x),
        ] {
            assert_eq!(Compression::detect(&data), kind);
            assert_eq!(decompress(kind, &data, 1 << 20).unwrap(), text);
        }
    }

    #[test]
    fn truncated_gzip_keeps_the_prefix() {
        let text = b"0123456789\n".repeat(10_000);
        let data = gz(&text);
        let (partial, err) =
            decompress(Compression::Gzip, &data[..data.len() / 2], 1 << 30).expect_err("truncated");
        assert!(
            err.to_string()
                .starts_with("corrupt or truncated gzip data")
        );
        assert!(text.starts_with(&partial));
    }

    #[test]
    fn bomb_is_refused_with_the_limit_named() {
        let data = gz(&vec![0u8; 1 << 20]);
        let (partial, err) = decompress(Compression::Gzip, &data, 1000).expect_err("bomb");
        assert_eq!(partial.len(), 1000);
        assert!(err.to_string().contains("more than 1000 bytes"), "{err}");
    }
}
