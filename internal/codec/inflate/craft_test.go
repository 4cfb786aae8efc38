package inflate

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/bits"
	"math/rand/v2"
	"strings"
	"testing"
)

// This file builds test inputs: DEFLATE streams written bit by bit (to reach
// cases compress/flate never writes), gzip framing, and test corpora.

// bitWriter writes DEFLATE's bit stream: least significant bit first.
type bitWriter struct {
	out  []byte
	acc  uint64
	nacc uint
}

// bits writes the n low bits of v, least significant first.
func (w *bitWriter) bits(v uint64, n uint) {
	w.acc |= (v & (1<<n - 1)) << w.nacc
	w.nacc += n
	for w.nacc >= 8 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		w.nacc -= 8
	}
}

// code writes a Huffman code of length n, most significant bit first.
func (w *bitWriter) code(c uint32, n uint) {
	w.bits(uint64(bits.Reverse32(c)>>(32-n)), n)
}

// align pads to a byte boundary with zero bits.
func (w *bitWriter) align() {
	if w.nacc > 0 {
		w.bits(0, 8-w.nacc)
	}
}

// bytes returns the stream, padded to a byte boundary.
func (w *bitWriter) bytes() []byte {
	w.align()
	return w.out
}

// canonical returns the canonical codes of the code lengths lens.
func canonical(lens []uint8) []uint32 {
	var count [16]uint32
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	var next [16]uint32
	code := uint32(0)
	for l := 1; l < 16; l++ {
		code = (code + count[l-1]) << 1
		next[l] = code
	}
	codes := make([]uint32, len(lens))
	for s, l := range lens {
		if l != 0 {
			codes[s] = next[l]
			next[l]++
		}
	}
	return codes
}

// token is one symbol of a crafted block: a literal, a match when dist > 0,
// the raw literal/length symbol -dist when dist < 0, or, when rawN > 0, the
// rawN low bits of raw as they are.
type token struct {
	lit          byte
	length, dist int
	raw          uint64
	rawN         uint
}

func lits(s string) []token {
	t := make([]token, len(s))
	for i := range len(s) {
		t[i] = token{lit: s[i]}
	}
	return t
}

// lengthSym returns the symbol, extra bits and extra-bit count of a length.
func lengthSym(length int) (sym int, extra uint64, n uint) {
	if length == 258 {
		return 285, 0, 0
	}
	for s := 284; s >= 257; s-- {
		base, x := lenBase(s)
		if length >= base {
			return s, uint64(length - base), x
		}
	}
	panic("bad length")
}

func lenBase(sym int) (int, uint) {
	i := sym - 257
	if i < 8 {
		return 3 + i, 0
	}
	x := uint(i-4) / 4
	return (4+i&3)<<x + 3, x
}

// distSym returns the symbol, extra bits and extra-bit count of a distance.
func distSym(dist int) (sym int, extra uint64, n uint) {
	for s := 29; s >= 0; s-- {
		base, x := 1+s, uint(0)
		if s >= 4 {
			x = uint(s-2) / 2
			base = (2+s&1)<<x + 1
		}
		if dist >= base {
			return s, uint64(dist - base), x
		}
	}
	panic("bad distance")
}

// fixedLens returns the code lengths of the fixed literal/length code.
func fixedLens() []uint8 {
	l := make([]uint8, 288)
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	return l
}

// writeTokens writes tokens and the end of block with the given codes.
func (w *bitWriter) writeTokens(toks []token, llens, dlens []uint8) {
	lc, dc := canonical(llens), canonical(dlens)
	sym := func(s int) { w.code(lc[s], uint(llens[s])) }
	for _, t := range toks {
		switch {
		case t.rawN > 0:
			w.bits(t.raw, t.rawN)
		case t.dist < 0:
			sym(-t.dist)
		case t.dist == 0:
			sym(int(t.lit))
		default:
			s, x, n := lengthSym(t.length)
			sym(s)
			w.bits(x, n)
			ds, dx, dn := distSym(t.dist)
			w.code(dc[ds], uint(dlens[ds]))
			w.bits(dx, dn)
		}
	}
	sym(256)
}

// fixedBlock writes a block with the fixed code.
func (w *bitWriter) fixedBlock(final bool, toks []token) {
	w.bits(b2u(final)|1<<1, 3)
	dl := make([]uint8, 32)
	for i := range dl {
		dl[i] = 5
	}
	w.writeTokens(toks, fixedLens(), dl)
}

// dynamicBlock writes a block with a dynamic code of the given lengths,
// which it sends with a code length code that gives every length 0-15 a
// 4-bit code (and never uses repeats).
func (w *bitWriter) dynamicBlock(final bool, llens, dlens []uint8, toks []token) {
	w.bits(b2u(final)|2<<1, 3)
	w.bits(uint64(len(llens)-257), 5)
	w.bits(uint64(len(dlens)-1), 5)
	w.bits(19-4, 4)
	plens := make([]uint8, 19)
	for i := range 16 {
		plens[i] = 4
	}
	for _, s := range preOrder {
		w.bits(uint64(plens[s]), 3)
	}
	pc := canonical(plens)
	for _, l := range append(append([]uint8{}, llens...), dlens...) {
		w.code(pc[l], 4)
	}
	w.writeTokens(toks, llens, dlens)
}

// storedBlock writes a stored block.
func (w *bitWriter) storedBlock(final bool, data []byte) {
	w.bits(b2u(final), 3)
	w.align()
	n := uint64(len(data))
	w.bits(n, 16)
	w.bits(^n, 16)
	w.out = append(w.out, data...)
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// gzipHeader options for gzipMember.
type gzipHeader struct {
	extra, name, comment []byte
	hcrc                 bool
	badHCRC              bool
}

// gzipMember frames the raw DEFLATE stream raw, whose content is plain.
func gzipMember(raw, plain []byte, h gzipHeader) []byte {
	var flg byte
	if h.hcrc {
		flg |= flagHCRC
	}
	if h.extra != nil {
		flg |= flagExtra
	}
	if h.name != nil {
		flg |= flagName
	}
	if h.comment != nil {
		flg |= flagComment
	}
	b := []byte{0x1f, 0x8b, 8, flg, 1, 2, 3, 4, 0, 3}
	if h.extra != nil {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(h.extra)))
		b = append(b, h.extra...)
	}
	if h.name != nil {
		b = append(append(b, h.name...), 0)
	}
	if h.comment != nil {
		b = append(append(b, h.comment...), 0)
	}
	if h.hcrc {
		c := uint16(crc32.ChecksumIEEE(b))
		if h.badHCRC {
			c++
		}
		b = binary.LittleEndian.AppendUint16(b, c)
	}
	b = append(b, raw...)
	b = binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(plain))
	return binary.LittleEndian.AppendUint32(b, uint32(len(plain)))
}

// deflateRaw compresses data with compress/flate at level.
func deflateRaw(tb testing.TB, data []byte, level int) []byte {
	tb.Helper()
	var b bytes.Buffer
	w, err := flate.NewWriter(&b, level)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// gzipData compresses data with compress/gzip at level.
func gzipData(tb testing.TB, data []byte, level int) []byte {
	tb.Helper()
	var b bytes.Buffer
	w, err := gzip.NewWriterLevel(&b, level)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// cloudTrailJSON returns a CloudTrail log file of n records with varied
// values, about 1.3 KB of JSON per record, compressing about as real ones do.
func cloudTrailJSON(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	id := func(k int) string {
		var b strings.Builder
		for range k {
			b.WriteByte(alnum[rng.IntN(len(alnum))])
		}
		return b.String()
	}
	hex := func(k int) string {
		var b strings.Builder
		for range k {
			b.WriteByte("0123456789abcdef"[rng.IntN(16)])
		}
		return b.String()
	}
	events := []struct{ source, name string }{
		{"s3.amazonaws.com", "GetObject"}, {"s3.amazonaws.com", "PutObject"},
		{"ec2.amazonaws.com", "DescribeInstances"}, {"sts.amazonaws.com", "AssumeRole"},
		{"kms.amazonaws.com", "Decrypt"}, {"logs.amazonaws.com", "CreateLogStream"},
		{"iam.amazonaws.com", "GetRole"}, {"lambda.amazonaws.com", "Invoke"},
	}
	roles := []string{"EKS-NodeGroup", "Admin", "ReadOnly", "lambda-exec", "ci-deploy"}
	agents := []string{
		"aws-sdk-go-v2/1.24.0 os/linux lang/go#1.21.5 md/GOOS#linux md/GOARCH#amd64 api/s3#1.47.7",
		"[aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64.amzn.2023 prompt/off command/s3.cp]",
		"Boto3/1.34.11 md/Botocore#1.34.11 ua/2.0 os/linux#5.10 md/arch#x86_64 lang/python#3.12.1",
		"kms.amazonaws.com", "ec2.amazonaws.com",
	}
	var b bytes.Buffer
	b.WriteString(`{"Records":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		ev := events[rng.IntN(len(events))]
		role := roles[rng.IntN(len(roles))]
		sess := "i-0" + hex(16)
		format := `{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROA%s:%s","arn":"arn:aws:sts::123456789012:assumed-role/%s/%s","accountId":"123456789012","accessKeyId":"ASIA%s","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROA%s","arn":"arn:aws:iam::123456789012:role/%s","accountId":"123456789012","userName":"%s"},"webIdFederationData":{},"attributes":{"creationDate":"2024-01-01T%02d:%02d:%02dZ","mfaAuthenticated":"false"}}},"eventTime":"2024-01-01T%02d:%02d:%02dZ","eventSource":"%s","eventName":"%s","awsRegion":"ap-northeast-1","sourceIPAddress":"%d.%d.%d.%d","userAgent":"%s","requestParameters":{"bucketName":"bucket-%s","key":"logs/%s/%d.json.gz"},"responseElements":null,"requestID":"%s-%s-%s-%s-%s","sharedEventID":"%s-%s-%s-%s-%s","vpcEndpointId":"vpce-%s","eventID":"%s-%s-%s-%s-%s","readOnly":%t,"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::bucket-%s/logs/%d"}],"eventType":"AwsApiCall","managementEvent":%t,"recipientAccountId":"123456789012","eventCategory":"Data","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"bucket.s3.ap-northeast-1.amazonaws.com"}}`
		h, m, s := rng.IntN(24), rng.IntN(60), rng.IntN(60)
		fmt.Fprintf(&b, format, id(17), sess, role, sess, id(16), id(17), role, role,
			h, m, s, h, m, s, ev.source, ev.name,
			rng.IntN(223)+1, rng.IntN(256), rng.IntN(256), rng.IntN(256), agents[rng.IntN(len(agents))],
			id(6), hex(8), rng.IntN(100000), hex(8), hex(4), hex(4), hex(4), hex(12),
			hex(8), hex(4), hex(4), hex(4), hex(12), hex(17),
			hex(8), hex(4), hex(4), hex(4), hex(12), rng.IntN(2) == 0, id(6), rng.IntN(1000), rng.IntN(2) == 0)
	}
	b.WriteString("]}\n")
	return b.Bytes()
}

// expand returns the content that toks (literals and matches) stand for.
func expand(toks ...token) []byte {
	var out []byte
	for _, t := range toks {
		if t.dist == 0 && t.rawN == 0 {
			out = append(out, t.lit)
			continue
		}
		for range t.length {
			out = append(out, out[len(out)-t.dist])
		}
	}
	return out
}
