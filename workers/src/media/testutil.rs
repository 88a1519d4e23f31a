//! Fixtures for the media tests: corpus files, and small images built in
//! the test (patterned JPEGs, EXIF blobs with orientation and GPS).

use exif::experimental::Writer;
use exif::{Field, In, Rational, Tag, Value};

use super::decode::{Layout, Pixels};

/// A file from the shared test corpus.
pub fn corpus(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An RGB image, blue everywhere except a red top-left quadrant, so a
/// turn or a flip shows where that quadrant went.
pub fn quadrant(width: u32, height: u32) -> Pixels {
    let mut data = Vec::with_capacity((width * height * 3) as usize);
    for y in 0..height {
        for x in 0..width {
            let red = x < width / 2 && y < height / 2;
            data.extend_from_slice(if red { &[230, 20, 20] } else { &[20, 20, 230] });
        }
    }
    Pixels { width, height, layout: Layout::Rgb, data }
}

pub fn is_red(px: &[u8]) -> bool {
    px[0] > 150 && px[2] < 100
}

/// A JPEG of [`quadrant`] with `exif` (a TIFF blob) in an APP1 segment.
pub fn jpeg_with_exif(exif: &[u8]) -> Vec<u8> {
    let jpeg = super::encode::jpeg(&quadrant(64, 48), 90, None).unwrap().bytes;
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&super::exif::jpeg_app1(exif).unwrap());
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// An EXIF blob with a camera make, the orientation and, if `gps`, a GPS
/// position.
pub fn test_exif(orientation: u16, gps: bool) -> Vec<u8> {
    let make =
        Field { tag: Tag::Make, ifd_num: In::PRIMARY, value: Value::Ascii(vec![b"mediaq test camera".to_vec()]) };
    let orient = Field { tag: Tag::Orientation, ifd_num: In::PRIMARY, value: Value::Short(vec![orientation]) };
    let r = |num, denom| Rational { num, denom };
    let lat = Field {
        tag: Tag::GPSLatitude,
        ifd_num: In::PRIMARY,
        value: Value::Rational(vec![r(48, 1), r(51, 1), r(30, 1)]),
    };
    let lat_ref = Field { tag: Tag::GPSLatitudeRef, ifd_num: In::PRIMARY, value: Value::Ascii(vec![b"N".to_vec()]) };
    let mut w = Writer::new();
    w.push_field(&make);
    w.push_field(&orient);
    if gps {
        w.push_field(&lat);
        w.push_field(&lat_ref);
    }
    let mut out = std::io::Cursor::new(Vec::new());
    w.write(&mut out, false).unwrap();
    out.into_inner()
}

fn riff_chunk(kind: &[u8], data: &[u8]) -> Vec<u8> {
    let mut c = kind.to_vec();
    c.extend_from_slice(&u32::try_from(data.len()).unwrap().to_le_bytes());
    c.extend_from_slice(data);
    if data.len() % 2 == 1 {
        c.push(0);
    }
    c
}

fn u24(v: u32) -> [u8; 3] {
    let b = v.to_le_bytes();
    [b[0], b[1], b[2]]
}

/// An animated WebP of `colors.len()` full-canvas lossless frames, each
/// one flat colour.
pub fn animated_webp(width: u32, height: u32, colors: &[[u8; 3]]) -> Vec<u8> {
    let mut body = b"WEBP".to_vec();
    let mut vp8x = vec![0x02, 0, 0, 0];
    vp8x.extend_from_slice(&u24(width - 1));
    vp8x.extend_from_slice(&u24(height - 1));
    body.extend(riff_chunk(b"VP8X", &vp8x));
    body.extend(riff_chunk(b"ANIM", &[0, 0, 0, 0, 0, 0]));
    for rgb in colors {
        let mut still = Vec::new();
        let pixels = rgb.repeat((width * height) as usize);
        image::codecs::webp::WebPEncoder::new_lossless(&mut still)
            .encode(&pixels, width, height, image::ExtendedColorType::Rgb8)
            .unwrap();
        let mut anmf = [u24(0), u24(0), u24(width - 1), u24(height - 1), u24(100)].concat();
        anmf.push(0);
        anmf.extend_from_slice(&still[12..]); // the VP8L chunk of the still file
        body.extend(riff_chunk(b"ANMF", &anmf));
    }
    let mut file = b"RIFF".to_vec();
    file.extend_from_slice(&u32::try_from(body.len()).unwrap().to_le_bytes());
    file.extend(body);
    file
}

/// An APNG of `colors.len()` flat-colour RGB frames.
pub fn apng(width: u32, height: u32, colors: &[[u8; 3]]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = png::Encoder::new(&mut out, width, height);
    e.set_color(png::ColorType::Rgb);
    e.set_animated(u32::try_from(colors.len()).unwrap(), 0).unwrap();
    let mut w = e.write_header().unwrap();
    for rgb in colors {
        w.write_image_data(&rgb.repeat((width * height) as usize)).unwrap();
    }
    w.finish().unwrap();
    out
}
