//! GIF: probing — the logical screen from the header, then a walk over the
//! block structure that hops from sub-block length to sub-block length
//! without running the LZW decoder, counting frames and stopping one past
//! the frame limit — and decoding the first frame for the still thumb.

use std::io::Read;

use super::MediaError;
use super::decode::{Layout, Pixels};
use super::probe::{Format, Limits, Probe, check, check_pixels, frames_over};
use super::source::{Reader, Source};
use super::walk::goto;

/// Walks a GIF through a reader; `pos` and `len` keep every skip inside
/// the file, so a length past the end reads as the end of the file.
struct Walker<'r, 'a> {
    r: &'r mut Reader<'a>,
    pos: u64,
    len: u64,
}

impl Walker<'_, '_> {
    fn byte(&mut self) -> Option<u8> {
        let mut b = [0u8];
        self.r.read_exact(&mut b).ok()?;
        self.pos += 1;
        Some(b[0])
    }

    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes([self.byte()?, self.byte()?]))
    }

    fn skip(&mut self, n: usize) -> Option<()> {
        let end = self.pos.checked_add(n as u64).filter(|&e| e <= self.len)?;
        goto(self.r, end).ok()?;
        self.pos = end;
        Some(())
    }

    /// Skips a colour table when the packed flags byte announces one.
    fn skip_color_table(&mut self, packed: u8) -> Option<()> {
        if packed & 0x80 != 0 { self.skip(3 << ((packed & 0x07) + 1)) } else { Some(()) }
    }

    /// Skips a run of data sub-blocks up to its zero-length terminator,
    /// returning the first sub-block's bytes (an extension's header).
    fn sub_blocks(&mut self) -> Option<Vec<u8>> {
        let mut first: Option<Vec<u8>> = None;
        loop {
            let len = usize::from(self.byte()?);
            if len == 0 {
                return Some(first.unwrap_or_default());
            }
            if first.is_none() {
                let mut data = vec![0; len];
                self.r.read_exact(&mut data).ok()?;
                self.pos += len as u64;
                first = Some(data);
            } else {
                self.skip(len)?;
            }
        }
    }
}

/// What one top-level block of a GIF was.
enum Block {
    Frame { width: u16, height: u16 },
    Extension { transparent: bool },
    Trailer,
}

fn next_block(w: &mut Walker<'_, '_>) -> Option<Block> {
    match w.byte()? {
        0x2C => {
            let (_left, _top) = (w.u16()?, w.u16()?);
            let (width, height) = (w.u16()?, w.u16()?);
            let packed = w.byte()?;
            w.skip_color_table(packed)?;
            let _lzw_min_code_size = w.byte()?;
            w.sub_blocks()?;
            Some(Block::Frame { width, height })
        }
        0x21 => {
            let label = w.byte()?;
            let first = w.sub_blocks()?;
            // A graphic control extension's first byte carries the transparency flag.
            let transparent = label == 0xF9 && first.first().is_some_and(|p| p & 1 == 1);
            Some(Block::Extension { transparent })
        }
        0x3B => Some(Block::Trailer),
        _ => None,
    }
}

/// Size of a GIF's logical screen, from its first 13 bytes, checked
/// against the limits; frames are counted by [`walk`].
pub fn header(head: &[u8], limits: Limits) -> Result<Probe, MediaError> {
    let le16 = |at: usize| head.get(at..at + 2).map(|s| u16::from_le_bytes([s[0], s[1]]));
    let (Some(width), Some(height)) = (le16(6), le16(8)) else {
        return Err(MediaError::Corrupt("the GIF header is truncated".into()));
    };
    let probe = Probe {
        format: Format::Gif,
        width: u32::from(width),
        height: u32::from(height),
        frames: 1,
        alpha: false,
        lossless: true,
    };
    check(&probe, limits)?;
    Ok(probe)
}

/// Size, frame count and transparency of a GIF held in memory.
#[cfg(test)]
pub fn gif(bytes: &[u8], limits: Limits) -> Result<Probe, MediaError> {
    walk(&Source::bytes(bytes), limits)
}

/// Size, frame count and transparency of a GIF. A file that ends early or
/// holds junk after at least one whole frame counts the frames before it,
/// as browsers do; one without a whole frame is corrupt.
pub fn walk(src: &Source<'_>, limits: Limits) -> Result<Probe, MediaError> {
    let mut probe = header(src.head(), limits)?;
    probe.frames = 0;
    let mut r = src.reader()?;
    let packed = *src.head().get(10).ok_or_else(|| MediaError::Corrupt("the GIF header is truncated".into()))?;
    let mut w = Walker { r: &mut r, pos: 0, len: src.len() };
    if w.skip(13).and_then(|()| w.skip_color_table(packed)).is_none() {
        return Err(MediaError::Corrupt("the GIF colour table is truncated".into()));
    }
    while let Some(block) = next_block(&mut w) {
        match block {
            Block::Frame { width, height } => {
                check_pixels("GIF frame", width.into(), height.into(), limits.max_pixels)?;
                probe.frames += 1;
                if probe.frames > limits.max_frames {
                    return Err(frames_over("GIF", limits.max_frames));
                }
            }
            Block::Extension { transparent } => probe.alpha |= transparent,
            Block::Trailer => break,
        }
    }
    if probe.frames == 0 {
        return Err(MediaError::Corrupt("the GIF holds no complete frame".into()));
    }
    Ok(probe)
}

/// The first frame as RGBA, placed at its offset on a transparent canvas
/// of the logical screen's size (the part outside the screen is cut, as
/// browsers do). The `gif` crate is used directly: through `image` its
/// fixed 50 MB frame limit would refuse large but valid GIFs.
pub fn first_frame(src: &Source<'_>, probe: &Probe) -> Result<Pixels, MediaError> {
    let failed = |e: gif::DecodingError| MediaError::Corrupt(format!("GIF: {e}"));
    let (width, height) = (probe.width as usize, probe.height as usize);
    let mut options = gif::DecodeOptions::new();
    options.set_color_output(gif::ColorOutput::RGBA);
    // A first frame larger than the (limit-checked) screen is refused.
    let limit = std::num::NonZeroU64::new(probe.pixels().saturating_mul(4))
        .map_or(gif::MemoryLimit::Unlimited, gif::MemoryLimit::Bytes);
    options.set_memory_limit(limit);
    let mut decoder = options.read_info(src.reader()?).map_err(failed)?;
    let frame = decoder.read_next_frame().map_err(failed)?;
    let frame = frame.ok_or_else(|| MediaError::Corrupt("the GIF holds no frame".into()))?;
    let mut data = vec![0; width * height * 4];
    let (left, top, fw) = (usize::from(frame.left), usize::from(frame.top), usize::from(frame.width));
    let copy = fw.min(width.saturating_sub(left));
    for (row, line) in frame.buffer.chunks_exact(fw * 4).enumerate().take(height.saturating_sub(top)) {
        let at = ((top + row) * width + left) * 4;
        data[at..at + copy * 4].copy_from_slice(&line[..copy * 4]);
    }
    Ok(Pixels { width: probe.width, height: probe.height, layout: Layout::Rgba, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2×2 GIF of `frames` identical one-colour frames.
    pub fn many_frames(frames: usize) -> Vec<u8> {
        let mut g = b"GIF89a\x02\x00\x02\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff".to_vec();
        for _ in 0..frames {
            g.extend_from_slice(b"\x21\xf9\x04\x00\x01\x00\x00\x00");
            g.extend_from_slice(b"\x2c\x00\x00\x00\x00\x02\x00\x02\x00\x00\x02\x02\x44\x01\x00");
        }
        g.push(0x3B);
        g
    }

    const LIMITS: Limits = Limits { max_pixels: 1_000_000, max_frames: 1000 };

    #[test]
    fn frames_are_counted_and_the_limit_refuses_early() {
        assert_eq!(gif(&many_frames(3), LIMITS).unwrap().frames, 3);
        let err = gif(&many_frames(100_000), LIMITS).unwrap_err();
        assert!(matches!(err, MediaError::OverLimit(_)), "{err}");
        assert!(err.to_string().contains("1000 frames"), "{err}");
    }

    #[test]
    fn truncation_keeps_whole_frames_or_fails() {
        let g = many_frames(3);
        assert_eq!(gif(&g[..g.len() - 5], LIMITS).unwrap().frames, 2);
        assert!(gif(&g[..30], LIMITS).is_err());
        assert!(gif(&g[..9], LIMITS).is_err());
    }

    fn encode(width: u16, height: u16, frame: &gif::Frame<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        let mut e = gif::Encoder::new(&mut out, width, height, &[0, 0, 0, 255, 0, 0]).unwrap();
        e.write_frame(frame).unwrap();
        drop(e);
        out
    }

    #[test]
    fn the_first_frame_lands_at_its_offset_on_a_transparent_canvas() {
        let frame =
            gif::Frame { left: 2, top: 1, width: 2, height: 2, buffer: vec![1; 4].into(), ..Default::default() };
        let bytes = encode(6, 4, &frame);
        let p = first_frame(&Source::bytes(&bytes), &gif(&bytes, LIMITS).unwrap()).unwrap();
        let px = |x: usize, y: usize| &p.data[(y * 6 + x) * 4..][..4];
        assert_eq!((px(2, 1), px(3, 2)), (&[255, 0, 0, 255][..], &[255, 0, 0, 255][..]));
        assert_eq!((px(0, 0), px(4, 1)), (&[0, 0, 0, 0][..], &[0, 0, 0, 0][..]));
    }

    #[test]
    fn a_gif_over_50_megabytes_decoded_still_decodes() {
        let (w, h) = (4000u16, 3300u16);
        let frame = gif::Frame {
            width: w,
            height: h,
            buffer: vec![1; usize::from(w) * usize::from(h)].into(),
            ..Default::default()
        };
        let bytes = encode(w, h, &frame);
        let limits = Limits { max_pixels: 100_000_000, max_frames: 10 };
        let p = first_frame(&Source::bytes(&bytes), &gif(&bytes, limits).unwrap()).unwrap();
        assert_eq!((p.width, p.height, &p.data[..4]), (4000, 3300, &[255, 0, 0, 255][..]));
    }

    #[test]
    fn a_frame_larger_than_the_pixel_limit_is_refused() {
        let mut g = many_frames(1);
        // The frame descriptor's width and height (after the GCE): 65535×65535.
        let at = g.iter().position(|&b| b == 0x2C).unwrap() + 5;
        g[at..at + 4].copy_from_slice(&[0xFF; 4]);
        assert!(matches!(gif(&g, LIMITS), Err(MediaError::OverLimit(_))));
    }
}
