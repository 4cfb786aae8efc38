// Package codec turns the bytes of one object into raw records: it detects and
// removes compression (gzip, bzip2, zstd, zip) by magic bytes, and frames the
// decompressed stream into records (text lines, multi-line records, JSON
// values). It neither parses nor interprets records.
//
// Every reader in this package streams: memory is bounded by the largest
// record (capped by [Config.MaxRecordBytes]), never by the object size, and
// reading a record does not allocate in steady state. Returned record slices
// alias an internal buffer and are valid only until the next call on the same
// reader. Readers are not safe for concurrent use.
package codec

import (
	"errors"
	"fmt"
)

// DefaultMaxRecordBytes is the record size cap used when
// [Config.MaxRecordBytes] is zero.
const DefaultMaxRecordBytes = 64 << 20

// ErrRecordTooLarge is matched (errors.Is) by the error a reader returns for a
// record longer than [Config.MaxRecordBytes]. The reader has skipped that
// record and continues with the next one.
var ErrRecordTooLarge = errors.New("codec: record too large")

// Config holds the framing settings shared by every reader. The zero value is
// valid and uses the defaults.
type Config struct {
	// MaxRecordBytes caps the size of one record (a line, a multi-line
	// record, a JSON value). 0 means DefaultMaxRecordBytes.
	MaxRecordBytes int
}

// Validate reports a setting that cannot be used.
func (c Config) Validate() error {
	if c.MaxRecordBytes < 0 {
		return fmt.Errorf("codec: MaxRecordBytes: %d must not be negative", c.MaxRecordBytes)
	}
	return nil
}

func (c Config) maxRecord() int {
	if c.MaxRecordBytes <= 0 {
		return DefaultMaxRecordBytes
	}
	return c.MaxRecordBytes
}

func tooLarge(kind string, line, limit int) error {
	return fmt.Errorf("codec: %s starting at line %d exceeds %d bytes: %w", kind, line, limit, ErrRecordTooLarge)
}

// maxEmptyReads bounds consecutive (0, nil) reads before io.ErrNoProgress.
const maxEmptyReads = 100

// initialBufSize is the first buffer size of the framing readers; buffers grow
// by doubling when a record does not fit.
const initialBufSize = 64 << 10

// grow returns a buffer of at least twice the length of buf holding
// buf[:n]; it never grows beyond what a record of limit bytes plus one read
// needs.
func grow(buf []byte, n, limit int) []byte {
	size := 2 * len(buf)
	if size < initialBufSize {
		size = initialBufSize
	}
	if m := limit + initialBufSize; size > m && m > len(buf) {
		size = m
	}
	nb := make([]byte, size)
	copy(nb, buf[:n])
	return nb
}
