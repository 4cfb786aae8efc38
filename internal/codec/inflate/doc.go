// Package inflate decompresses gzip files (RFC 1952) and raw DEFLATE
// streams (RFC 1951) about twice as fast as compress/gzip and
// github.com/klauspost/compress/gzip, in pure Go: gunzipping CloudTrail logs
// is a large part of loading them on one core.
//
// GzipReader reads every member of a gzip file as one stream, checking each
// member's CRC-32 and length; Reader reads a raw DEFLATE stream (a zip
// member's data). Both are reused with Reset, and both implement
// io.WriterTo, which writes straight from the decoder's window. Errors about
// the data match ErrCorrupt (and io.ErrUnexpectedEOF when the input is cut
// short); errors of the underlying reader are wrapped unchanged.
//
// Where the speed comes from:
//   - The input is read in 64 KiB chunks into the reader's own buffer, and
//     the bit buffer is 64 bits wide, refilled 8 bytes at a time with one
//     unaligned load.
//   - Huffman codes are decoded with one lookup in a table of 2^11
//     (literal/length) or 2^8 (distance) entries, with subtables for longer
//     codes. An entry holds the symbol's value, its code length and the
//     number of bits to consume, extra bits included; a literal/length entry
//     may hold two literals whose codes fit in its 11 bits together.
//   - The decoding loop runs while the input and the window have room for
//     its longest step, so it needs no per-symbol checks; indexes are masked
//     to power-of-two sizes so that the compiler drops its bounds checks.
//     Matches are copied 8 or 16 bytes at a time (copy for long ones), with
//     overlapping copies stepping by their distance.
//   - Output is decoded into a 256 KiB window from which Read copies (or
//     WriteTo writes); when it is full the last 32 KiB slide to its start.
//
// Near the end of the input or of the window a careful loop decodes one
// symbol at a time, checking everything. Invalid, over-subscribed and
// incomplete codes are refused as compress/flate refuses them (a single
// 1-bit code is allowed), and so are distances reaching before the start of
// the member's output; the fuzz test holds the package to compress/flate's
// and compress/gzip's results.
package inflate
