//! Resizing with `fast_image_resize` (SIMD convolution), and EXIF
//! orientation applied to the small results rather than to the large
//! decode.
//!
//! Alpha is premultiplied once, in place, on the decoded image before any
//! resize, and each output is un-premultiplied after: the library would
//! otherwise copy the whole source into a premultiplied buffer on every
//! resize, doubling the memory of a large RGBA image.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, MulDiv, PixelType, ResizeAlg, ResizeOptions, Resizer};

use super::MediaError;
use super::decode::{Layout, Pixels};

/// Lanczos3: the sharpest of the usual kernels, and what libvips uses for
/// thumbnails. Its wider support matters little for speed here: JPEGs
/// arrive already shrunk by the decoder, and decoding dominates anyway.
const FILTER: FilterType = FilterType::Lanczos3;

fn pixel_type(layout: Layout) -> PixelType {
    match layout {
        Layout::Gray => PixelType::U8,
        Layout::GrayAlpha => PixelType::U8x2,
        Layout::Rgb => PixelType::U8x3,
        Layout::Rgba => PixelType::U8x4,
    }
}

fn failed(e: impl std::fmt::Display) -> MediaError {
    MediaError::Corrupt(format!("resizing failed: {e}"))
}

/// Multiplies colour by alpha in place (for images with transparency).
pub fn premultiply(p: &mut Pixels) -> Result<(), MediaError> {
    let mut view = Image::from_slice_u8(p.width, p.height, &mut p.data, pixel_type(p.layout)).map_err(failed)?;
    MulDiv::new().multiply_alpha_inplace(&mut view).map_err(failed)
}

fn unpremultiply(p: &mut Pixels) -> Result<(), MediaError> {
    let mut view = Image::from_slice_u8(p.width, p.height, &mut p.data, pixel_type(p.layout)).map_err(failed)?;
    MulDiv::new().divide_alpha_inplace(&mut view).map_err(failed)
}

/// How an output is cut from the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// Scale the whole image to exactly the target size.
    Stretch,
    /// Crop around the centre to the target's aspect ratio, then scale.
    Cover,
}

/// Output rows made per pass. The library's intermediate image is (source
/// columns × output rows); making a large output in bands keeps that
/// buffer small instead of as large as the output — for a 5120 px photo
/// resized to 5000 px, 2 MiB instead of 43 MiB.
const BAND_ROWS: u32 = 128;

/// The part of the source an output is made from: all of it, or for
/// `Cover` the centred box with the output's aspect ratio.
fn crop_box(src: &Pixels, width: u32, height: u32, fit: Fit) -> (f64, f64, f64, f64) {
    let (sw, sh) = (f64::from(src.width), f64::from(src.height));
    let (dw, dh) = (f64::from(width), f64::from(height));
    match fit {
        Fit::Stretch => (0.0, 0.0, sw, sh),
        Fit::Cover if sw * dh > sh * dw => {
            let cw = sh * dw / dh;
            ((sw - cw) / 2.0, 0.0, cw, sh)
        }
        Fit::Cover => {
            let ch = sw * dh / dw;
            (0.0, (sh - ch) / 2.0, sw, ch)
        }
    }
}

/// Resizes `src` to `width`×`height`. `premultiplied` says `src` had its
/// alpha multiplied in (see [`premultiply`]); the result is then divided
/// back. Bands of output rows are made one after the other from matching
/// source rows; the filter still reads across band edges, so the result is
/// the same as in one pass.
pub fn resize(src: &Pixels, width: u32, height: u32, fit: Fit, premultiplied: bool) -> Result<Pixels, MediaError> {
    let pt = pixel_type(src.layout);
    let from = ImageRef::new(src.width, src.height, &src.data, pt).map_err(failed)?;
    let (left, top, crop_w, crop_h) = crop_box(src, width, height, fit);
    let stride = width as usize * src.layout.channels();
    let mut data = vec![0; stride * height as usize];
    let mut resizer = Resizer::new();
    let row_top =
        |row: u32| if row == height { top + crop_h } else { top + crop_h * f64::from(row) / f64::from(height) };
    for first in (0..height).step_by(BAND_ROWS as usize) {
        let end = (first + BAND_ROWS).min(height);
        let band = &mut data[first as usize * stride..end as usize * stride];
        let mut to = Image::from_slice_u8(width, end - first, band, pt).map_err(failed)?;
        let (band_top, band_bottom) = (row_top(first), row_top(end));
        let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FILTER)).use_alpha(false).crop(
            left,
            band_top,
            crop_w,
            band_bottom - band_top,
        );
        resizer.resize(&from, &mut to, &options).map_err(failed)?;
    }
    let mut out = Pixels { width, height, layout: src.layout, data };
    if premultiplied {
        unpremultiply(&mut out)?;
    }
    Ok(out)
}

/// An EXIF orientation (1–8): how the stored pixels must be turned to be
/// seen upright.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Orientation(u8);

impl Orientation {
    pub const UPRIGHT: Self = Self(1);

    /// The orientation for an EXIF value; unknown values mean upright.
    pub fn from_exif(v: u32) -> Self {
        u8::try_from(v).ok().filter(|v| (1..=8).contains(v)).map_or(Self::UPRIGHT, Self)
    }

    pub fn value(self) -> u8 {
        self.0
    }

    /// Orientations 5–8 turn by 90°: width and height trade places.
    pub fn swaps_axes(self) -> bool {
        self.0 >= 5
    }

    /// `(width, height)` as seen, for stored `(width, height)`.
    pub fn apply_to_size(self, (w, h): (u32, u32)) -> (u32, u32) {
        if self.swaps_axes() { (h, w) } else { (w, h) }
    }

    /// The stored pixel shown at (x, y) of the upright image; `w`, `h` are
    /// the stored sizes.
    fn source(self, x: usize, y: usize, w: usize, h: usize) -> (usize, usize) {
        match self.0 {
            2 => (w - 1 - x, y),
            3 => (w - 1 - x, h - 1 - y),
            4 => (x, h - 1 - y),
            5 => (y, x),
            6 => (y, h - 1 - x),
            7 => (w - 1 - y, h - 1 - x),
            8 => (w - 1 - y, x),
            _ => (x, y),
        }
    }
}

/// Turns `p` upright. Used on outputs (thumb, medium, resized original),
/// never on the full decode, so the copy is small.
pub fn orient(p: Pixels, o: Orientation) -> Pixels {
    if o == Orientation::UPRIGHT {
        return p;
    }
    let (w, h) = (p.width as usize, p.height as usize);
    let (ow, oh) = o.apply_to_size((p.width, p.height));
    let n = p.layout.channels();
    let mut data = Vec::with_capacity(p.data.len());
    for y in 0..oh as usize {
        for x in 0..ow as usize {
            let (sx, sy) = o.source(x, y, w, h);
            let at = (sy * w + sx) * n;
            data.extend_from_slice(&p.data[at..at + n]);
        }
    }
    Pixels { width: ow, height: oh, layout: p.layout, data }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 3×2 grey image whose pixel values are 0..6 in reading order.
    fn numbered() -> Pixels {
        Pixels { width: 3, height: 2, layout: Layout::Gray, data: (0..6).collect() }
    }

    #[test]
    fn orientations_turn_the_pixels_as_exif_defines() {
        // Stored 0 1 2 / 3 4 5.
        let cases: [(u32, (u32, u32), &[u8]); 8] = [
            (1, (3, 2), &[0, 1, 2, 3, 4, 5]),
            (2, (3, 2), &[2, 1, 0, 5, 4, 3]),
            (3, (3, 2), &[5, 4, 3, 2, 1, 0]),
            (4, (3, 2), &[3, 4, 5, 0, 1, 2]),
            (5, (2, 3), &[0, 3, 1, 4, 2, 5]),
            (6, (2, 3), &[3, 0, 4, 1, 5, 2]),
            (7, (2, 3), &[5, 2, 4, 1, 3, 0]),
            (8, (2, 3), &[2, 5, 1, 4, 0, 3]),
        ];
        for (v, size, data) in cases {
            let out = orient(numbered(), Orientation::from_exif(v));
            assert_eq!(((out.width, out.height), &out.data[..]), (size, data), "orientation {v}");
        }
    }

    #[test]
    fn bands_give_the_same_pixels_as_one_pass() {
        let src = Pixels {
            width: 300,
            height: 700,
            layout: Layout::Rgb,
            data: (0..300 * 700 * 3).map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect(),
        };
        for (w, h, fit) in [(170, 450, Fit::Stretch), (160, 160, Fit::Cover), (290, 333, Fit::Cover)] {
            let banded = resize(&src, w, h, fit, false).unwrap();
            let from = ImageRef::new(300, 700, &src.data, PixelType::U8x3).unwrap();
            let mut whole = Image::new(w, h, PixelType::U8x3);
            let mut options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FILTER));
            if fit == Fit::Cover {
                options = options.fit_into_destination(Some((0.5, 0.5)));
            }
            Resizer::new().resize(&from, &mut whole, &options).unwrap();
            let worst = banded.data.iter().zip(whole.buffer()).map(|(a, b)| a.abs_diff(*b)).max();
            assert!(worst <= Some(1), "{w}×{h} {fit:?}: differs by {worst:?}");
        }
    }

    #[test]
    fn cover_fills_the_square_and_alpha_survives() {
        let mut src = Pixels { width: 40, height: 20, layout: Layout::Rgba, data: [10, 200, 30, 128].repeat(800) };
        premultiply(&mut src).unwrap();
        let out = resize(&src, 8, 8, Fit::Cover, true).unwrap();
        assert_eq!((out.width, out.height), (8, 8));
        let px = &out.data[..4];
        assert_eq!(px[3], 128);
        assert!(px[1].abs_diff(200) <= 2, "colour restored after premultiplying: {px:?}");
    }
}
