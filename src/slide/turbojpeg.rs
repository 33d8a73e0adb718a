//! JPEG tile decoding through the system's TurboJPEG library (libjpeg-turbo), loaded at run time.
//!
//! OpenSlide decodes the JPEG tiles of TIFF-based slides with libjpeg-turbo at its default
//! settings (accurate integer IDCT, smooth chroma upsampling); TurboJPEG with no flags runs that
//! same decoder, so the pixels are the same bytes. When the library is not installed the direct
//! reader is simply not used and OpenSlide reads everything.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_ulong, c_void, CStr};
use std::sync::OnceLock;

type InitDecompress = unsafe extern "C" fn() -> *mut c_void;
type DecompressHeader3 = unsafe extern "C" fn(
    *mut c_void,
    *const u8,
    c_ulong,
    *mut c_int,
    *mut c_int,
    *mut c_int,
    *mut c_int,
) -> c_int;
type Decompress2 = unsafe extern "C" fn(
    *mut c_void,
    *const u8,
    c_ulong,
    *mut u8,
    c_int,
    c_int,
    c_int,
    c_int,
    c_int,
) -> c_int;
type GetErrorStr2 = unsafe extern "C" fn(*mut c_void) -> *mut c_char;
type Destroy = unsafe extern "C" fn(*mut c_void) -> c_int;

/// TurboJPEG's code for packed 8-bit RGB output.
const TJPF_RGB: c_int = 0;

/// The colour space a JPEG stream declares (as libjpeg guesses it from its markers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JpegSpace {
    /// Components are R, G, B.
    Rgb,
    /// Components are Y, Cb, Cr.
    YCbCr,
    /// Anything else (grey, CMYK, YCCK).
    Other,
}

struct Api {
    _lib: libloading::Library,
    init: InitDecompress,
    header: DecompressHeader3,
    decompress: Decompress2,
    error: GetErrorStr2,
    destroy: Destroy,
    name: String,
}

static API: OnceLock<Option<Api>> = OnceLock::new();

fn candidates() -> Vec<String> {
    let mut c = Vec::new();
    if let Ok(p) = std::env::var("H2G_TURBOJPEG_LIB") {
        if !p.is_empty() {
            c.push(p);
        }
    }
    c.extend(
        [
            "libturbojpeg.so.0",
            "libturbojpeg.so",
            "libturbojpeg.0.dylib",
            "libturbojpeg.dylib",
        ]
        .map(String::from),
    );
    c
}

fn load() -> Option<Api> {
    for name in candidates() {
        // SAFETY: loading a shared library runs its initialisers; libturbojpeg has none beyond
        // libc's, and the symbols are resolved with the signatures of turbojpeg.h (2.0 and later).
        unsafe {
            let Ok(lib) = libloading::Library::new(&name) else {
                continue;
            };
            let api = (|| -> Result<Api, libloading::Error> {
                Ok(Api {
                    init: *lib.get::<InitDecompress>(b"tjInitDecompress\0")?,
                    header: *lib.get::<DecompressHeader3>(b"tjDecompressHeader3\0")?,
                    decompress: *lib.get::<Decompress2>(b"tjDecompress2\0")?,
                    error: *lib.get::<GetErrorStr2>(b"tjGetErrorStr2\0")?,
                    destroy: *lib.get::<Destroy>(b"tjDestroy\0")?,
                    name: name.clone(),
                    _lib: lib,
                })
            })();
            if let Ok(api) = api {
                return Some(api);
            }
        }
    }
    None
}

fn api() -> Option<&'static Api> {
    API.get_or_init(load).as_ref()
}

/// The TurboJPEG library in use, or `None` when none could be loaded.
pub fn library() -> Option<&'static str> {
    api().map(|a| a.name.as_str())
}

/// One decompressor per thread (a TurboJPEG handle must not be shared between threads).
struct Handle(*mut c_void);

impl Drop for Handle {
    fn drop(&mut self) {
        if let Some(a) = api() {
            // SAFETY: the handle came from this library's tjInitDecompress and is dropped once.
            unsafe {
                (a.destroy)(self.0);
            }
        }
    }
}

thread_local! {
    static HANDLE: RefCell<Option<Handle>> = const { RefCell::new(None) };
}

/// Why a JPEG tile could not be decoded by TurboJPEG.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JpegError {
    /// libturbojpeg could not be loaded.
    #[error("libturbojpeg is not available")]
    Unavailable,
    /// tjInitDecompress returned no handle.
    #[error("libturbojpeg could not create a decompressor")]
    NoDecompressor,
    /// The decoder's own message (a damaged or truncated stream, a warning).
    #[error("{0}")]
    Decoder(String),
    /// A tile of another size than the TIFF's tiles.
    #[error("JPEG tile is {width} × {height} pixels, the TIFF says {tile_w} × {tile_h}")]
    Size {
        /// The stream's width.
        width: u32,
        /// The stream's height.
        height: u32,
        /// The TIFF's tile width.
        tile_w: u32,
        /// The TIFF's tile height.
        tile_h: u32,
    },
    /// A tile in another colour space than the TIFF declares.
    #[error("JPEG tile is {found:?}, the TIFF says {declared:?}")]
    Space {
        /// The stream's colour space.
        found: JpegSpace,
        /// The TIFF's.
        declared: JpegSpace,
    },
}

fn with_handle<T>(
    f: impl FnOnce(&Api, *mut c_void) -> Result<T, JpegError>,
) -> Result<T, JpegError> {
    let a = api().ok_or(JpegError::Unavailable)?;
    HANDLE.with(|h| {
        let mut h = h.borrow_mut();
        if h.is_none() {
            // SAFETY: plain constructor call; a null result is checked.
            let p = unsafe { (a.init)() };
            if p.is_null() {
                return Err(JpegError::NoDecompressor);
            }
            *h = Some(Handle(p));
        }
        let p = h.as_ref().map(|h| h.0).unwrap_or(std::ptr::null_mut());
        f(a, p)
    })
}

fn last_error(a: &Api, h: *mut c_void) -> JpegError {
    // SAFETY: tjGetErrorStr2 returns a NUL-terminated string owned by the handle (or a static
    // one), valid until the next call on this handle, which is after we copy it.
    unsafe {
        let s = (a.error)(h);
        JpegError::Decoder(if s.is_null() {
            "unknown JPEG error".into()
        } else {
            CStr::from_ptr(s).to_string_lossy().into_owned()
        })
    }
}

/// Width, height and colour space of a complete JPEG stream.
pub fn header(jpeg: &[u8]) -> Result<(u32, u32, JpegSpace), JpegError> {
    with_handle(|a, h| {
        let (mut w, mut hh, mut sub, mut cs) = (0, 0, 0, 0);
        // SAFETY: the buffer pointer and length describe `jpeg`; the outputs are local ints.
        let r = unsafe {
            (a.header)(
                h,
                jpeg.as_ptr(),
                jpeg.len() as c_ulong,
                &mut w,
                &mut hh,
                &mut sub,
                &mut cs,
            )
        };
        if r != 0 {
            return Err(last_error(a, h));
        }
        let space = match cs {
            0 => JpegSpace::Rgb,
            1 => JpegSpace::YCbCr,
            _ => JpegSpace::Other,
        };
        Ok((w.max(0) as u32, hh.max(0) as u32, space))
    })
}

/// Decodes a complete JPEG stream of exactly `width × height` pixels in colour space `space`
/// into packed RGB, with libjpeg-turbo's defaults (as OpenSlide decodes). A stream of another
/// size or colour space is refused before decoding; a warning (e.g. truncated data) is an
/// error, as OpenSlide treats it.
pub fn decode_rgb(
    jpeg: &[u8],
    width: u32,
    height: u32,
    space: JpegSpace,
) -> Result<Vec<u8>, JpegError> {
    let (w, h, s) = header(jpeg)?;
    if (w, h) != (width, height) {
        return Err(JpegError::Size {
            width: w,
            height: h,
            tile_w: width,
            tile_h: height,
        });
    }
    if s != space {
        return Err(JpegError::Space {
            found: s,
            declared: space,
        });
    }
    let mut out = vec![0u8; 3 * width as usize * height as usize];
    with_handle(|a, hd| {
        // SAFETY: `out` holds exactly pitch × height bytes for the RGB output requested.
        let r = unsafe {
            (a.decompress)(
                hd,
                jpeg.as_ptr(),
                jpeg.len() as c_ulong,
                out.as_mut_ptr(),
                width as c_int,
                (3 * width) as c_int,
                height as c_int,
                TJPF_RGB,
                0,
            )
        };
        if r != 0 {
            return Err(last_error(a, hd));
        }
        Ok(())
    })?;
    Ok(out)
}
