//! EXIF: finding the blob in a JPEG (APP1), PNG (eXIf) or WebP (EXIF),
//! reading it with `kamadak-exif` into the JSON object Chevereto stores as
//! `original_exifdata`, and the orientation the derivatives must follow.
//!
//! The JSON follows PHP's `exif_read_data`, which Chevereto clients know:
//! tag name → number, string, `"num/den"` for rationals, or an array of
//! those for multi-valued tags. Binary blobs (MakerNote, PrintIM, …),
//! the embedded thumbnail's IFD and tags without a standard name are left
//! out, so the object stays small and printable.

use exif::{Context, Field, In, Tag, Value};
use serde_json::{Map, Value as Json};

use super::container::{jpeg_segments, png_chunks, webp_chunks};
use super::probe::Format;
use super::resize::Orientation;
use super::source::{Reader, Source};
use super::walk::{self, Next};

/// Blobs larger than this are ignored (a JPEG APP1 holds at most 64 KiB).
const MAX_EXIF_BYTES: usize = 1 << 20;
/// Longer arrays (tables, curves) are binary data in disguise.
const MAX_ARRAY: usize = 64;
/// Undefined-typed values longer than this are blobs.
const MAX_UNDEFINED: usize = 64;
const MAX_STRING: usize = 1024;
const EXIF_HEADER: &[u8] = b"Exif\0\0";

/// What the EXIF of an image says, as far as this service uses it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExifInfo {
    /// Tag name → value, for `original_exifdata`; `None` without EXIF.
    pub json: Option<Json>,
    pub orientation: Orientation,
}

/// The TIFF-structured EXIF blob of an image, if it has one. A structure
/// too broken to walk yields `None`: the decoder reports the corruption.
pub fn raw_exif(bytes: &[u8], format: Format) -> Option<&[u8]> {
    let blob = match format {
        Format::Jpeg => jpeg_segments(bytes)
            .ok()?
            .map_while(Result::ok)
            .find(|s| s.marker == 0xE1 && s.payload.starts_with(EXIF_HEADER))
            .map(|s| &s.payload[EXIF_HEADER.len()..]),
        Format::Png => png_chunks(bytes).ok()?.map_while(Result::ok).find(|c| &c.kind == b"eXIf").map(|c| c.data),
        // Some writers keep JPEG's "Exif\0\0" prefix in the WebP chunk.
        Format::Webp => webp_chunks(bytes)
            .ok()?
            .map_while(Result::ok)
            .find(|c| &c.kind == b"EXIF")
            .map(|c| c.data.strip_prefix(EXIF_HEADER).unwrap_or(c.data)),
        Format::Gif | Format::Bmp => None,
    }?;
    (blob.len() <= MAX_EXIF_BYTES).then_some(blob)
}

/// The EXIF blob of an image, wherever it is in the file: JPEG keeps it
/// in its header segments (in memory), PNG and WebP may put it after the
/// image data, so their chunks are walked through a reader.
fn source_exif(src: &Source<'_>, format: Format) -> Option<Vec<u8>> {
    let kind = match format {
        Format::Jpeg => return raw_exif(src.head(), format).map(<[u8]>::to_vec),
        Format::Png => b"eXIf",
        Format::Webp => b"EXIF",
        Format::Gif | Format::Bmp => return None,
    };
    let mut r = src.reader().ok()?;
    let mut blob = None;
    let walked = |r: &mut Reader<'_>, c: &walk::ChunkAt| {
        if &c.kind == kind {
            blob = Some(walk::read_data(r, c, 0, MAX_EXIF_BYTES as u64 + 1)?);
            return Ok(Next::Stop);
        }
        Ok(Next::Continue)
    };
    // A walk that fails partway keeps what it found: the decoder reports corruption.
    let _ = if format == Format::Png { walk::png(&mut r, walked) } else { walk::riff(&mut r, walked) };
    let blob = blob?;
    let blob = blob.strip_prefix(EXIF_HEADER).map_or_else(|| blob.clone(), <[u8]>::to_vec);
    (blob.len() <= MAX_EXIF_BYTES).then_some(blob)
}

/// Reads the EXIF of an image held in memory; see [`read_source`].
#[cfg(test)]
pub fn read(bytes: &[u8], format: Format, with_gps: bool) -> ExifInfo {
    read_source(&Source::bytes(bytes), format, with_gps)
}

/// Reads the EXIF of an image. `with_gps` false leaves the GPS tags out
/// of the JSON (used when the stored file is stripped of them). Unreadable
/// EXIF is treated as none: it never fails an upload.
pub fn read_source(src: &Source<'_>, format: Format, with_gps: bool) -> ExifInfo {
    let none = ExifInfo { json: None, orientation: Orientation::UPRIGHT };
    let Some(blob) = source_exif(src, format) else { return none };
    let Ok(exif) = exif::Reader::new().read_raw(blob) else { return none };
    let orientation = exif
        .get_field(Tag::Orientation, In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .map_or(Orientation::UPRIGHT, Orientation::from_exif);
    let mut map = Map::new();
    for f in exif.fields().filter(|f| f.ifd_num == In::PRIMARY && f.tag.description().is_some()) {
        if !with_gps && f.tag.context() == Context::Gps {
            continue;
        }
        if let Some(v) = to_json(f) {
            map.insert(f.tag.to_string(), v);
        }
    }
    ExifInfo { json: (!map.is_empty()).then_some(Json::Object(map)), orientation }
}

fn one_or_many<T>(items: &[T], f: impl Fn(&T) -> Option<Json>) -> Option<Json> {
    match items {
        [] => None,
        [one] => f(one),
        many if many.len() <= MAX_ARRAY => many.iter().map(f).collect::<Option<Vec<_>>>().map(Json::Array),
        _ => None,
    }
}

fn text(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let s = s.trim_end_matches('\0').trim();
    s.chars().take(MAX_STRING).collect()
}

fn number<T: Into<f64> + Copy>(v: &T) -> Option<Json> {
    serde_json::Number::from_f64((*v).into()).map(Json::Number)
}

fn to_json(f: &Field) -> Option<Json> {
    match &f.value {
        Value::Ascii(parts) => {
            let s = parts.iter().map(|p| text(p)).collect::<Vec<_>>().join(" ");
            Some(Json::String(s))
        }
        Value::Byte(v) => one_or_many(v, |n| Some(Json::from(*n))),
        Value::Short(v) => one_or_many(v, |n| Some(Json::from(*n))),
        Value::Long(v) => one_or_many(v, |n| Some(Json::from(*n))),
        Value::SByte(v) => one_or_many(v, |n| Some(Json::from(*n))),
        Value::SShort(v) => one_or_many(v, |n| Some(Json::from(*n))),
        Value::SLong(v) => one_or_many(v, |n| Some(Json::from(*n))),
        Value::Rational(v) => one_or_many(v, |r| Some(Json::String(format!("{}/{}", r.num, r.denom)))),
        Value::SRational(v) => one_or_many(v, |r| Some(Json::String(format!("{}/{}", r.num, r.denom)))),
        Value::Float(v) => one_or_many(v, number),
        Value::Double(v) => one_or_many(v, number),
        Value::Undefined(bytes, _) if bytes.len() <= MAX_UNDEFINED => {
            Some(Json::String(text(f.display_value().to_string().as_bytes())))
        }
        Value::Undefined(..) | Value::Unknown(..) => None,
    }
}

/// A minimal EXIF blob (TIFF structure, no "Exif" prefix) holding only the
/// orientation: what a stripped file keeps so it still displays upright.
pub fn orientation_only(o: Orientation) -> Vec<u8> {
    let mut t = Vec::with_capacity(26);
    t.extend_from_slice(b"MM\0\x2a\0\0\0\x08"); // big-endian TIFF, IFD0 at 8
    t.extend_from_slice(&1u16.to_be_bytes()); // one entry
    t.extend_from_slice(&0x0112u16.to_be_bytes()); // Orientation
    t.extend_from_slice(&3u16.to_be_bytes()); // SHORT
    t.extend_from_slice(&1u32.to_be_bytes()); // count
    t.extend_from_slice(&u16::from(o.value()).to_be_bytes());
    t.extend_from_slice(&[0, 0]); // value padding
    t.extend_from_slice(&0u32.to_be_bytes()); // no next IFD
    t
}

/// `blob` as a JPEG APP1 segment (marker, length, "Exif\0\0", blob).
pub fn jpeg_app1(blob: &[u8]) -> Option<Vec<u8>> {
    let len = u16::try_from(2 + EXIF_HEADER.len() + blob.len()).ok()?;
    let mut seg = vec![0xFF, 0xE1];
    seg.extend_from_slice(&len.to_be_bytes());
    seg.extend_from_slice(EXIF_HEADER);
    seg.extend_from_slice(blob);
    Some(seg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::testutil::{corpus, jpeg_with_exif, test_exif};

    #[test]
    fn camera_exif_becomes_php_like_json() {
        let info = read(&corpus("mate_Storm.jpg"), Format::Jpeg, true);
        let json = info.json.unwrap();
        assert_eq!(json["Orientation"], 1, "{json}");
        assert_eq!(info.orientation, Orientation::UPRIGHT);
        assert!(json.get("MakerNote").is_none());
        assert!(serde_json::to_string(&json).unwrap().len() < 64 * 1024);
    }

    #[test]
    fn gps_and_orientation_are_read_and_gps_can_be_left_out() {
        let jpeg = jpeg_with_exif(&test_exif(6, true));
        let info = read(&jpeg, Format::Jpeg, true);
        assert_eq!(info.orientation, Orientation::from_exif(6));
        let json = info.json.unwrap();
        assert_eq!(json["Make"], "mediaq test camera");
        assert_eq!(json["GPSLatitude"], serde_json::json!(["48/1", "51/1", "30/1"]));
        let json = read(&jpeg, Format::Jpeg, false).json.unwrap();
        assert!(json.get("GPSLatitude").is_none() && json.get("Make").is_some(), "{json}");
    }

    #[test]
    fn the_orientation_only_blob_parses() {
        let exif = exif::Reader::new().read_raw(orientation_only(Orientation::from_exif(8))).unwrap();
        let f = exif.get_field(Tag::Orientation, In::PRIMARY).unwrap();
        assert_eq!(f.value.get_uint(0), Some(8));
        assert_eq!(exif.fields().len(), 1);
    }

    #[test]
    fn images_without_exif_or_with_garbage_exif_read_as_none() {
        assert_eq!(read(&corpus("skimage_chelsea.png"), Format::Png, true).json, None);
        let jpeg = jpeg_with_exif(b"MM\0\x2a\xff\xff\xff\xff garbage");
        let info = read(&jpeg, Format::Jpeg, true);
        assert_eq!((info.json, info.orientation), (None, Orientation::UPRIGHT));
    }
}
