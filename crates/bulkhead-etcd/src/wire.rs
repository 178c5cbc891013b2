//! Protobuf's wire format, read in place: etcd's `mvccpb.KeyValue` and the
//! API server's `runtime.Unknown` envelope are walked over the snapshot's
//! bytes without copying them (a snapshot of gigabytes is read at the speed
//! of memory). Hand-written because prost decodes into owned buffers; the
//! input is untrusted, so every length is checked.

/// Why bytes are not the message they should be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not valid protobuf: {0}")]
pub struct WireError(pub &'static str);

/// One field's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire types 1 and 5.
    Fixed(u64),
    /// Wire type 2: bytes, strings, nested messages.
    Bytes(&'a [u8]),
}

/// Walks the fields of a message.
pub struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    /// The fields of `message`.
    pub fn new(message: &'a [u8]) -> Self {
        Self { rest: message }
    }

    fn varint(&mut self) -> Result<u64, WireError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self.rest.split_first().ok_or(WireError("a varint runs past the end"))?;
            self.rest = rest;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(WireError("a varint longer than ten bytes"))
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8], WireError> {
        let n = usize::try_from(n).map_err(|_| WireError("a length beyond memory"))?;
        if n > self.rest.len() {
            return Err(WireError("a field runs past the end"));
        }
        let (field, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(field)
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, Value<'a>), WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let field = (|| {
            let key = self.varint()?;
            let number = u32::try_from(key >> 3).map_err(|_| WireError("a field number beyond 2^29"))?;
            if number == 0 {
                return Err(WireError("field number 0"));
            }
            let value = match key & 7 {
                0 => Value::Varint(self.varint()?),
                1 => Value::Fixed(u64::from_le_bytes(self.take(8)?.try_into().unwrap_or_default())),
                2 => {
                    let n = self.varint()?;
                    Value::Bytes(self.take(n)?)
                }
                5 => Value::Fixed(u64::from(u32::from_le_bytes(self.take(4)?.try_into().unwrap_or_default()))),
                _ => return Err(WireError("a wire type protobuf 3 does not use (groups)")),
            };
            Ok((number, value))
        })();
        if field.is_err() {
            // Stop after the first error: the rest cannot be framed.
            self.rest = &[];
        }
        Some(field)
    }
}

/// The bytes of a length-delimited field, or an error for another type.
pub fn bytes(value: Value<'_>) -> Result<&[u8], WireError> {
    match value {
        Value::Bytes(b) => Ok(b),
        _ => Err(WireError("a field that should be bytes is not")),
    }
}

/// A varint field as a signed 64-bit number (protobuf `int64`).
pub fn int64(value: Value<'_>) -> Result<i64, WireError> {
    match value {
        #[allow(clippy::cast_possible_wrap)] // int64 is two's complement on the wire
        Value::Varint(v) => Ok(v as i64),
        _ => Err(WireError("a field that should be a number is not")),
    }
}

/// Appends a varint (for tests and the writers of our own formats).
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends a length-delimited field.
pub fn put_bytes(out: &mut Vec<u8>, number: u32, bytes: &[u8]) {
    put_varint(out, u64::from(number) << 3 | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Appends a varint field (left out when zero, as protobuf 3 does).
pub fn put_int64(out: &mut Vec<u8>, number: u32, v: i64) {
    if v != 0 {
        put_varint(out, u64::from(number) << 3);
        #[allow(clippy::cast_sign_loss)] // int64 is two's complement on the wire
        put_varint(out, v as u64);
    }
}
