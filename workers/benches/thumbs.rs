//! Thumbnail benchmark: mediaq's `image::process` over image files on one
//! thread, and the peak memory of processing one file.
//!
//! Run through `scripts/bench-thumbs.sh`, which also times `vipsthumbnail`
//! on the same files and prints the ratio. By hand:
//!
//! ```text
//! cargo bench -p mediaq-workers --bench thumbs -- speed ROUNDS FILE...
//! cargo bench -p mediaq-workers --bench thumbs -- memory FILE [WIDTH]
//! cargo bench -p mediaq-workers --bench thumbs -- render OUT_DIR FILE...
//! ```
//!
//! `speed` makes thumb + medium for every file, ROUNDS times, reading each
//! file inside the timing as a thumbnailer would, and prints the best
//! round. `memory` processes one file (resizing the stored image to WIDTH
//! if given) and prints the process's peak resident memory above what it
//! held before, next to the image's decoded size. `render` writes the
//! thumbs and mediums to OUT_DIR, to look at.

use std::time::{Duration, Instant};

use mediaq_workers::media::image::{DEFAULT_MAX_FRAMES, ImageOptions, process_bytes as process};

fn options(resize_width: Option<u32>) -> ImageOptions {
    ImageOptions { max_pixels: 100_000_000, max_frames: DEFAULT_MAX_FRAMES, resize_width, strip_exif: false }
}

/// Nanoseconds this process has spent on a CPU (it is single-threaded):
/// unlike wall time, not inflated by other work on the machine.
fn cpu_ns() -> Result<u64, String> {
    let stat = std::fs::read_to_string("/proc/self/schedstat").map_err(|e| e.to_string())?;
    stat.split_whitespace().next().and_then(|v| v.parse().ok()).ok_or("bad schedstat".into())
}

/// One pass over the files: (wall, CPU) time.
fn round(files: &[String]) -> Result<(Duration, Duration), String> {
    let (start, cpu) = (Instant::now(), cpu_ns()?);
    for f in files {
        let bytes = std::fs::read(f).map_err(|e| format!("{f}: {e}"))?;
        let out = process(&bytes, &options(None)).map_err(|e| format!("{f}: {e}"))?;
        std::hint::black_box(out);
    }
    Ok((start.elapsed(), Duration::from_nanos(cpu_ns()? - cpu)))
}

fn speed(rounds: usize, files: &[String]) -> Result<(), String> {
    round(files)?; // warm the page cache and the allocator
    let (mut wall, mut cpu): (Vec<_>, Vec<_>) =
        (0..rounds).map(|_| round(files)).collect::<Result<Vec<_>, _>>()?.into_iter().unzip();
    wall.sort();
    cpu.sort();
    let n = files.len() as f64;
    let (best, median) = (wall.first().ok_or("no rounds")?.as_secs_f64(), wall[wall.len() / 2].as_secs_f64());
    let (cpu_best, cpu_median) = (cpu[0].as_secs_f64(), cpu[cpu.len() / 2].as_secs_f64());
    println!(
        "mediaq: {} images, best {best:.3} s ({:.2} images/s), median {median:.3} s ({:.2} images/s); \
         cpu best {cpu_best:.3} s, cpu median {cpu_median:.3} s",
        files.len(),
        n / best,
        n / median
    );
    Ok(())
}

/// A field of /proc/self/status in KiB (VmRSS now, VmHWM the peak).
fn status_kib(field: &str) -> Result<u64, String> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(|e| e.to_string())?;
    let line = status.lines().find(|l| l.starts_with(field)).ok_or(format!("no {field}"))?;
    line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).ok_or(format!("bad {field}"))
}

fn memory(file: &str, resize_width: Option<u32>) -> Result<(), String> {
    let bytes = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
    let before = status_kib("VmRSS:")?;
    let out = process(&bytes, &options(resize_width)).map_err(|e| format!("{file}: {e}"))?;
    let peak = status_kib("VmHWM:")?;
    let decoded = image::ImageReader::new(std::io::Cursor::new(&bytes))
        .with_guessed_format()
        .map_err(|e| e.to_string())?
        .into_decoder()
        .map_err(|e| e.to_string())?;
    let decoded_kib = image::ImageDecoder::total_bytes(&decoded) / 1024;
    let used = peak.saturating_sub(before);
    println!(
        "memory: {file} {}x{} (width {resize_width:?}): peak {} MiB above {} MiB before; decoded size {} MiB; ratio {:.2}",
        out.width,
        out.height,
        used / 1024,
        before / 1024,
        decoded_kib / 1024,
        used as f64 / decoded_kib as f64
    );
    Ok(())
}

fn render(dir: &str, files: &[String]) -> Result<(), String> {
    for f in files {
        let bytes = std::fs::read(f).map_err(|e| format!("{f}: {e}"))?;
        let out = process(&bytes, &options(None)).map_err(|e| format!("{f}: {e}"))?;
        let stem = std::path::Path::new(f).file_stem().and_then(|s| s.to_str()).unwrap_or("image");
        for (kind, r) in [("thumb", Some(&out.thumb)), ("medium", out.medium.as_ref())] {
            if let Some(r) = r {
                let path = format!("{dir}/{stem}_{kind}.{}", r.extension);
                std::fs::write(&path, &r.bytes).map_err(|e| format!("{path}: {e}"))?;
            }
        }
    }
    Ok(())
}

fn main() -> Result<(), String> {
    // `cargo bench` passes `--bench`; skip it and any other flag.
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    match args.first().map(String::as_str) {
        Some("speed") => {
            let rounds = args.get(1).and_then(|r| r.parse().ok()).ok_or("speed ROUNDS FILE...")?;
            speed(rounds, &args[2..])
        }
        Some("memory") => {
            let file = args.get(1).ok_or("memory FILE [WIDTH]")?;
            memory(file, args.get(2).and_then(|w| w.parse().ok()))
        }
        Some("render") => render(args.get(1).ok_or("render OUT_DIR FILE...")?, &args[2..]),
        _ => {
            eprintln!("usage: thumbs speed ROUNDS FILE... | memory FILE [WIDTH] | render OUT_DIR FILE...");
            Ok(())
        }
    }
}
