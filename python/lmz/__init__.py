"""Python binding of liblmz (include/lmz.h) through ctypes.

    import lmz
    archive = lmz.compress(b"some text", level=6)
    assert lmz.decompress(archive) == b"some text"
    with lmz.Archive("big.log.lmz") as a:      # random access
        print(a.raw_size, a.read(1 << 20, 4096), a.members())

Archives are the lmz program's: `lmz -d` reads what compress() writes.
The library is found through $LMZ_LIBRARY (a path), else as liblmz.so.0
on the loader's path.
"""

import ctypes
import ctypes.util
import os

__all__ = ["LmzError", "compress", "decompress", "Archive", "Context", "version"]


def _load():
    path = os.environ.get("LMZ_LIBRARY")
    if path:
        return ctypes.CDLL(path)
    for name in ("liblmz.so.0", ctypes.util.find_library("lmz")):
        if name:
            try:
                return ctypes.CDLL(name)
            except OSError:
                pass
    raise ImportError("cannot find liblmz.so.0: install lmz (liblmz0) or set $LMZ_LIBRARY")


_lib = _load()
_c = ctypes
_lib.lmz_version.restype = _c.c_char_p
_lib.lmz_status_name.restype = _c.c_char_p
_lib.lmz_status_name.argtypes = [_c.c_int]
_lib.lmz_options_new.restype = _c.c_void_p
_lib.lmz_options_free.argtypes = [_c.c_void_p]
for _name, _arg in (("level", _c.c_int), ("model", _c.c_char_p), ("models_dir", _c.c_char_p),
                    ("threads", _c.c_uint), ("device", _c.c_char_p)):
    _f = getattr(_lib, "lmz_options_set_" + _name)
    _f.argtypes = [_c.c_void_p, _arg]
    _f.restype = _c.c_int
_lib.lmz_context_new.restype = _c.c_void_p
_lib.lmz_context_new.argtypes = [_c.c_void_p]
_lib.lmz_context_free.argtypes = [_c.c_void_p]
_lib.lmz_last_error.restype = _c.c_char_p
_lib.lmz_last_error.argtypes = [_c.c_void_p]
_lib.lmz_free.argtypes = [_c.c_void_p]
for _f in (_lib.lmz_compress_buffer, _lib.lmz_decompress_buffer):
    _f.argtypes = [_c.c_void_p, _c.c_char_p, _c.c_size_t, _c.POINTER(_c.c_void_p),
                   _c.POINTER(_c.c_size_t)]
    _f.restype = _c.c_int
_lib.lmz_archive_open.argtypes = [_c.c_void_p, _c.c_char_p, _c.POINTER(_c.c_void_p)]
_lib.lmz_archive_open.restype = _c.c_int
_lib.lmz_archive_open_buffer.argtypes = [_c.c_void_p, _c.c_char_p, _c.c_size_t,
                                         _c.POINTER(_c.c_void_p)]
_lib.lmz_archive_open_buffer.restype = _c.c_int
_lib.lmz_archive_close.argtypes = [_c.c_void_p]
_lib.lmz_archive_raw_size.argtypes = [_c.c_void_p]
_lib.lmz_archive_raw_size.restype = _c.c_uint64
_lib.lmz_archive_read.argtypes = [_c.c_void_p, _c.c_uint64, _c.c_void_p, _c.c_size_t,
                                  _c.POINTER(_c.c_size_t)]
_lib.lmz_archive_read.restype = _c.c_int
_lib.lmz_archive_member_count.argtypes = [_c.c_void_p]
_lib.lmz_archive_member_count.restype = _c.c_size_t


class _MemberInfo(_c.Structure):
    _fields_ = [("archive_offset", _c.c_uint64), ("archive_size", _c.c_uint64),
                ("raw_offset", _c.c_uint64), ("raw_size", _c.c_uint64),
                ("format_version", _c.c_uint32), ("stage", _c.c_uint32),
                ("blocks", _c.c_uint64), ("neural_blocks", _c.c_uint64),
                ("zstd_blocks", _c.c_uint64), ("stored_blocks", _c.c_uint64),
                ("model_name", _c.c_char * 256), ("model_hash", _c.c_char * 33)]


_lib.lmz_archive_member.argtypes = [_c.c_void_p, _c.c_size_t, _c.POINTER(_MemberInfo)]
_lib.lmz_archive_member.restype = _c.c_int

# Status codes of lmz.h (also the lmz program's exit statuses).
OK, ERROR_USAGE, ERROR_CORRUPT, ERROR_MODEL, ERROR_IO, ERROR_INTERNAL, ERROR_MEMORY = range(7)


class LmzError(Exception):
    """A failed call: `status` is the lmz.h code, the message says what."""

    def __init__(self, status, message):
        super().__init__(f"{_lib.lmz_status_name(status).decode()}: {message}")
        self.status = status


def version():
    return _lib.lmz_version().decode()


class Context:
    """Settings and loaded models, reused across calls (one thread at a time)."""

    def __init__(self, level=None, model=None, models_dir=None, threads=0, device=None):
        options = _lib.lmz_options_new()
        if not options:
            raise MemoryError()
        try:
            for setter, value in (("level", level), ("model", model), ("models_dir", models_dir),
                                  ("threads", threads), ("device", device)):
                if value is None:
                    continue
                if isinstance(value, str):
                    value = value.encode()
                status = getattr(_lib, "lmz_options_set_" + setter)(options, value)
                if status != OK:
                    raise LmzError(status, f"bad {setter} {value!r}")
            self._ctx = _lib.lmz_context_new(options)
        finally:
            _lib.lmz_options_free(options)
        if not self._ctx:
            raise MemoryError()

    def close(self):
        if self._ctx:
            _lib.lmz_context_free(self._ctx)
            self._ctx = None

    __del__ = close

    def _check(self, status):
        if status != OK:
            raise LmzError(status, _lib.lmz_last_error(self._ctx).decode(errors="replace"))

    def _buffer_call(self, fn, data):
        data = bytes(data)
        out = _c.c_void_p()
        size = _c.c_size_t()
        self._check(fn(self._ctx, data, len(data), _c.byref(out), _c.byref(size)))
        try:
            return _c.string_at(out, size.value)
        finally:
            _lib.lmz_free(out)

    def compress(self, data):
        return self._buffer_call(_lib.lmz_compress_buffer, data)

    def decompress(self, data):
        return self._buffer_call(_lib.lmz_decompress_buffer, data)


def compress(data, level=None, model=None, threads=0):
    """The archive of `data` (bytes-like), as `lmz -LEVEL --model MODEL` makes it."""
    return Context(level=level, model=model, threads=threads).compress(data)


def decompress(data):
    """The data of an archive; raises LmzError for a corrupt one."""
    return Context().decompress(data)


class Archive:
    """Random access to an archive file (or bytes): read(offset, length)."""

    def __init__(self, source, context=None):
        self._context = context or Context()
        handle = _c.c_void_p()
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
            status = _lib.lmz_archive_open_buffer(self._context._ctx, data, len(data),
                                                  _c.byref(handle))
        else:
            status = _lib.lmz_archive_open(self._context._ctx, os.fsencode(source),
                                           _c.byref(handle))
        self._context._check(status)
        self._handle = handle

    @property
    def raw_size(self):
        return _lib.lmz_archive_raw_size(self._handle)

    def read(self, offset, length):
        buffer = _c.create_string_buffer(length)
        got = _c.c_size_t()
        self._context._check(_lib.lmz_archive_read(self._handle, offset, buffer, length,
                                                   _c.byref(got)))
        return buffer.raw[:got.value]

    def members(self):
        out = []
        for i in range(_lib.lmz_archive_member_count(self._handle)):
            info = _MemberInfo()
            self._context._check(_lib.lmz_archive_member(self._handle, i, _c.byref(info)))
            out.append({name: (getattr(info, name).decode() if isinstance(getattr(info, name), bytes)
                               else getattr(info, name)) for name, _ in _MemberInfo._fields_})
        return out

    def close(self):
        if self._handle:
            _lib.lmz_archive_close(self._handle)
            self._handle = None

    __del__ = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
