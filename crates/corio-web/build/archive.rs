//! Just enough of the zip and tar formats to take a few named files out of a release
//! archive: Swagger UI's zip, ReDoc's npm tarball. Both archives are pinned and
//! checked, so unsupported features (zip64, encryption, long tar names) are errors, not
//! cases to handle.

use std::io::Read;

/// The file `name` of the zip `archive`, decompressed and checked against its CRC-32.
pub fn zip_file(archive: &[u8], name: &str) -> Result<Vec<u8>, String> {
    let entry = zip_entries(archive)?
        .into_iter()
        .find(|entry| entry.name == name)
        .ok_or_else(|| format!("{name} is not in the zip"))?;
    let local = archive
        .get(entry.header_offset..)
        .filter(|local| le32(local, 0) == Some(0x0403_4b50))
        .ok_or("bad local header")?;
    let start = entry.header_offset
        + 30
        + usize::from(le16(local, 26).ok_or("bad local header")?)
        + usize::from(le16(local, 28).ok_or("bad local header")?);
    let data = archive
        .get(start..start + entry.compressed_size)
        .ok_or("entry past the end of the zip")?;
    let bytes = match entry.method {
        0 => data.to_vec(),
        8 => {
            let mut bytes = Vec::with_capacity(entry.size);
            flate2::read::DeflateDecoder::new(data)
                .read_to_end(&mut bytes)
                .map_err(|e| format!("{name}: {e}"))?;
            bytes
        }
        method => return Err(format!("{name}: unsupported compression method {method}")),
    };
    let mut crc = flate2::Crc::new();
    crc.update(&bytes);
    if bytes.len() != entry.size || crc.sum() != entry.crc32 {
        return Err(format!("{name}: size or CRC-32 mismatch"));
    }
    Ok(bytes)
}

/// The names of the files in the zip `archive`.
pub fn zip_names(archive: &[u8]) -> Result<Vec<String>, String> {
    Ok(zip_entries(archive)?.into_iter().map(|e| e.name).collect())
}

/// One file as the zip's central directory describes it.
struct ZipEntry {
    name: String,
    method: u16,
    crc32: u32,
    compressed_size: usize,
    size: usize,
    header_offset: usize,
}

/// Reads the central directory, found through the end-of-central-directory record (the
/// last 22 bytes, unless the archive has a comment).
fn zip_entries(archive: &[u8]) -> Result<Vec<ZipEntry>, String> {
    let eocd = (0..archive.len().saturating_sub(21))
        .rev()
        .find(|&at| le32(archive, at) == Some(0x0605_4b50))
        .ok_or("no end of central directory: not a zip")?;
    let count = le16(archive, eocd + 10).ok_or("short zip")?;
    let mut at = le32(archive, eocd + 16).ok_or("short zip")? as usize;
    let mut entries = Vec::with_capacity(count.into());
    for _ in 0..count {
        let field32 = |offset| le32(archive, at + offset).ok_or("short central directory");
        let field16 = |offset| le16(archive, at + offset).ok_or("short central directory");
        if field32(0)? != 0x0201_4b50 {
            return Err("bad central directory entry".into());
        }
        let name_len = usize::from(field16(28)?);
        let next = at + 46 + name_len + usize::from(field16(30)?) + usize::from(field16(32)?);
        let name = archive
            .get(at + 46..at + 46 + name_len)
            .ok_or("short central directory")?;
        let [compressed_size, size, header_offset] = [field32(20)?, field32(24)?, field32(42)?];
        if [compressed_size, size, header_offset].contains(&u32::MAX) {
            return Err("zip64 archives are not supported".into());
        }
        entries.push(ZipEntry {
            name: String::from_utf8_lossy(name).into_owned(),
            method: field16(10)?,
            crc32: field32(16)?,
            compressed_size: compressed_size as usize,
            size: size as usize,
            header_offset: header_offset as usize,
        });
        at = next;
    }
    Ok(entries)
}

/// The regular file `path` of the (uncompressed) tar `archive`. Only ustar names up to 100
/// bytes (plus the ustar prefix) are looked at; pax extended headers are skipped.
pub fn tar_file<'a>(archive: &'a [u8], path: &str) -> Result<&'a [u8], String> {
    let mut at = 0;
    while let Some(header) = archive.get(at..at + 512) {
        if header.iter().all(|&b| b == 0) {
            break; // the end-of-archive blocks
        }
        let size = octal(&header[124..136]).ok_or("bad size in a tar header")?;
        let data = at + 512;
        let name = c_str(&header[0..100]);
        let prefix = if &header[257..262] == b"ustar" {
            c_str(&header[345..500])
        } else {
            ""
        };
        let regular = matches!(header[156], b'0' | 0);
        let full_match = if prefix.is_empty() {
            name == path
        } else {
            path.strip_prefix(prefix)
                .and_then(|rest| rest.strip_prefix('/'))
                == Some(name)
        };
        if regular && full_match {
            return archive
                .get(data..data + size)
                .ok_or_else(|| format!("{path}: truncated tar"));
        }
        at = data + size.div_ceil(512) * 512;
    }
    Err(format!("{path} is not in the tarball"))
}

/// A NUL-terminated string field of a tar header.
fn c_str(field: &[u8]) -> &str {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    std::str::from_utf8(&field[..end]).unwrap_or("")
}

/// A tar header's octal number, padded with NULs or spaces.
fn octal(field: &[u8]) -> Option<usize> {
    let digits = c_str(field).trim();
    usize::from_str_radix(digits, 8).ok()
}

fn le16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn le32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}
