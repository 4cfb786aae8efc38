package app

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// Keys of the test objects, relative to the bucket directory given as PATH,
// shaped like the S3 keys the log types are detected from.
const (
	ctPrefix  = "AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/02/"
	gdPrefix  = "AWSLogs/123456789012/GuardDuty/us-east-1/2024/01/02/"
	vpcPrefix = "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/01/02/"
)

// vpcHeader is the header line of a default-format (version 2) flow log.
const vpcHeader = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"

// loadRun is the outcome of one `vigil load` run.
type loadRun struct {
	code   int
	stdout string
	stderr string
	docs   []loadedDoc
	dead   []deadEntry
	// outExists tells whether the sink file was created.
	outExists bool
}

// loadedDoc is one line of the NDJSON sink.
type loadedDoc struct {
	Index  string         `json:"_index"`
	ID     string         `json:"_id"`
	Source map[string]any `json:"_source"`
}

// deadEntry is one line of the dead-letter file.
type deadEntry struct {
	Bucket    string `json:"bucket"`
	Key       string `json:"key"`
	Path      string `json:"path"`
	LogType   string `json:"log_type"`
	Line      int    `json:"line"`
	Reason    string `json:"reason"`
	Raw       string `json:"raw"`
	RawBase64 string `json:"raw_base64"`
}

// rawBytes returns the record bytes the entry keeps, whichever field holds
// them.
func (d deadEntry) rawBytes(t *testing.T) []byte {
	t.Helper()
	if d.RawBase64 != "" {
		b, err := base64.StdEncoding.DecodeString(d.RawBase64)
		if err != nil {
			t.Fatalf("dead-letter raw_base64 of line %d: %v", d.Line, err)
		}
		return b
	}
	return []byte(d.Raw)
}

// writeBucket creates dir/bucket with files (key relative to the bucket ->
// content) and returns the bucket directory.
func writeBucket(t *testing.T, files map[string][]byte) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "bucket")
	for key, content := range files {
		p := filepath.Join(root, filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// runVigilLoad runs `vigil load` in process with one worker (so documents
// keep the order of the input), an NDJSON sink and a dead-letter file in a
// temporary directory, then reads both files back. Every sink line must be
// valid UTF-8 and valid JSON.
func runVigilLoad(t *testing.T, args ...string) *loadRun {
	t.Helper()
	tmp := t.TempDir()
	out := filepath.Join(tmp, "out.ndjson")
	dl := filepath.Join(tmp, "dead-letter.ndjson")
	full := append([]string{"load", "--sink", "ndjson:" + out, "--dead-letter", dl, "--workers", "1"}, args...)
	return runMain(t, out, dl, full...)
}

// runMain runs app.Main with args and reads the sink file out and the
// dead-letter file dl (either may be absent).
func runMain(t *testing.T, out, dl string, args ...string) *loadRun {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	r := &loadRun{code: code, stdout: stdout.String(), stderr: stderr.String()}
	if b, err := os.ReadFile(out); err == nil {
		r.outExists = true
		for i, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			if !utf8.Valid(line) {
				t.Errorf("sink line %d is not valid UTF-8: %.200q", i+1, line)
			}
			if !json.Valid(line) {
				t.Fatalf("sink line %d is not valid JSON: %.300s", i+1, line)
			}
			var d loadedDoc
			if err := json.Unmarshal(line, &d); err != nil {
				t.Fatalf("sink line %d: %v", i+1, err)
			}
			r.docs = append(r.docs, d)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(dl); err == nil {
		for i, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
			var e deadEntry
			if err := json.Unmarshal(line, &e); err != nil {
				t.Fatalf("dead-letter line %d is not valid JSON (%v): %.300s", i+1, err, line)
			}
			r.dead = append(r.dead, e)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return r
}

// field returns the string value of a dotted path in a document source.
func field(src map[string]any, path string) (string, bool) {
	var v any = src
	for _, p := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return "", false
		}
		if v, ok = m[p]; !ok {
			return "", false
		}
	}
	switch x := v.(type) {
	case string:
		return x, true
	case nil:
		return "", false
	default:
		b, _ := json.Marshal(x)
		return string(b), true
	}
}

// ctRecord returns one CloudTrail record; extra fields replace or add to
// the defaults, and a nil value removes a field.
func ctRecord(id string, extra map[string]any) map[string]any {
	r := map[string]any{
		"eventVersion":       "1.08",
		"eventTime":          "2024-01-02T03:04:05Z",
		"eventSource":        "s3.amazonaws.com",
		"eventName":          "GetObject",
		"awsRegion":          "us-east-1",
		"sourceIPAddress":    "203.0.113.5",
		"userAgent":          "aws-cli/2.15.0",
		"eventID":            id,
		"recipientAccountId": "123456789012",
		"userIdentity":       map[string]any{"type": "IAMUser", "userName": "alice"},
		"requestParameters":  map[string]any{"bucketName": "logs", "key": "a/b.txt"},
	}
	for k, v := range extra {
		if v == nil {
			delete(r, k)
			continue
		}
		r[k] = v
	}
	return r
}

// ctFile returns a CloudTrail object: {"Records":[...]}.
func ctFile(t *testing.T, records ...map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"Records": records})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// gdFinding returns one GuardDuty finding as a JSON line (no newline).
func gdFinding(i int) string {
	return fmt.Sprintf(`{"schemaVersion":"2.0","accountId":"123456789012","region":"us-east-1","partition":"aws",`+
		`"id":"f%d","arn":"arn:aws:guardduty:us-east-1:123456789012:detector/d/finding/f%d",`+
		`"type":"Recon:EC2/PortProbeUnprotectedPort","resource":{"resourceType":"Instance","instanceDetails":{"instanceId":"i-%04d"}},`+
		`"service":{"serviceName":"guardduty","count":%d,"archived":false},"severity":2,`+
		`"createdAt":"2024-01-02T03:04:05.000Z","updatedAt":"2024-01-02T03:%02d:05.000Z","title":"Unprotected port %d","description":"probe"}`,
		i, i, i, i, i%60, i)
}

// vpcLine returns one default-format flow log record for interface eni-<i>.
func vpcLine(i int) string {
	return fmt.Sprintf("2 123456789012 eni-%05d 10.0.%d.%d 198.51.100.7 443 %d 6 10 840 1704164645 %d ACCEPT OK",
		i, (i/250)%250, i%250+1, 1024+i%60000, 1704164700+i)
}

func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// decodablePrefix returns what the standard library gunzips from a
// (truncated) gzip stream before the error.
func decodablePrefix(t *testing.T, gz []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err == nil {
		t.Fatal("the truncated gzip stream decodes without error")
	}
	return b
}

// truncatedGzip returns lines (newline-terminated) gzipped and cut in the
// middle, and how many lines are complete in what can be decoded.
func truncatedGzip(t *testing.T, lines []string) (data []byte, complete int) {
	t.Helper()
	gz := gzipBytes(t, []byte(strings.Join(lines, "\n")+"\n"))
	cut := gz[:len(gz)/2]
	prefix := decodablePrefix(t, cut)
	complete = bytes.Count(prefix, []byte("\n"))
	if complete == 0 || complete >= len(lines) {
		t.Fatalf("bad test input: %d of %d lines decodable before the cut", complete, len(lines))
	}
	return cut, complete
}

// randomHex returns n pseudo-random hex digits, so that test data does not
// compress to nothing.
func randomHex(rng *rand.Rand, n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = digits[rng.IntN(16)]
	}
	return string(b)
}

// wantDead is an expected dead-letter entry.
type wantDead struct {
	key     string // object key
	logType string
	line    int
	reason  []string // substrings of the reason
	// raw is the record as it was in the input; rawNonEmpty only asks for
	// the raw bytes to be kept (when the record boundary is not defined,
	// e.g. random bytes).
	raw         string
	rawNonEmpty bool
}

// badInputCase is one object (or a few) that must fail precisely.
type badInputCase struct {
	name  string
	files map[string][]byte
	args  []string // extra flags
	// wantCode is the exit status.
	wantCode int
	// wantStderr are substrings of stderr (errors name "key:line:");
	// notStderr must not appear.
	wantStderr []string
	notStderr  []string
	// docField is read from every document's _source; wantDocs are its
	// values, in output order, for the documents that were written.
	docField string
	wantDocs []string
	// wantDead are the dead-letter entries, in order; nil means none
	// unless deadByCheck says check looks at them instead.
	wantDead    []wantDead
	deadByCheck bool
	// check runs extra assertions.
	check func(t *testing.T, r *loadRun)
}

func TestLoadBadInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))

	// 1. truncated gzip: CloudTrail records as NDJSON, and VPC flow log lines.
	var ctLines []string
	for i := range 3000 {
		rec := ctRecord(fmt.Sprintf("ev-%05d", i), map[string]any{
			"requestID": randomHex(rng, 32),
			"eventTime": fmt.Sprintf("2024-01-02T03:%02d:%02dZ", i/60%60, i%60),
		})
		b, _ := json.Marshal(rec)
		ctLines = append(ctLines, string(b))
	}
	ctTrunc, ctComplete := truncatedGzip(t, ctLines)
	var ctTruncIDs []string
	for i := range ctComplete {
		ctTruncIDs = append(ctTruncIDs, fmt.Sprintf("ev-%05d", i))
	}
	vpcLines := []string{vpcHeader}
	for i := range 20000 {
		vpcLines = append(vpcLines, vpcLine(i))
	}
	vpcTrunc, vpcComplete := truncatedGzip(t, vpcLines)
	var vpcTruncIDs []string
	for i := range vpcComplete - 1 { // the header is not a record
		vpcTruncIDs = append(vpcTruncIDs, fmt.Sprintf("eni-%05d", i))
	}

	// 2. random bytes (deterministic); the first byte announces no
	// compression format.
	random := make([]byte, 64<<10)
	for i := range random {
		random[i] = byte(rng.IntN(256))
	}
	random[0] = 0xa7
	randomGzipMagic := append([]byte{0x1f, 0x8b}, random[2:4096]...)

	// 3. a GuardDuty NDJSON file with line 3 cut in half.
	gd := []string{gdFinding(1), gdFinding(2), gdFinding(3), gdFinding(4), gdFinding(5)}
	gdCut := gd[2][:len(gd[2])/2]
	gd[2] = gdCut

	// 4. invalid UTF-8 inside strings.
	badUTF8CT := bytes.Replace(ctFile(t, ctRecord("utf-1", map[string]any{"userAgent": "aws-cli/BAD/2"})),
		[]byte("aws-cli/BAD/2"), []byte("aws-cli/\xff/2"), 1)
	badUTF8VPC := []byte(vpcHeader + "\n" + strings.Replace(vpcLine(1), "ACCEPT", "ACC\xc3\x28EPT", 1) + "\n" + vpcLine(2) + "\n")

	// 5. a CloudTrail record without eventTime, between two good ones.
	noTime := ctRecord("ev-2", map[string]any{"eventTime": nil})
	noTimeRaw, _ := json.Marshal(noTime)
	badTime := ctRecord("ev-1", map[string]any{"eventTime": "yesterday"})
	badTimeRaw, _ := json.Marshal(badTime)

	// 6. a key matching s3_key_ignored. The built-in definitions set
	// s3_key_ignored for no log type (as es-loader's aws.ini), so a
	// user.ini sets one, as an operator would.
	ignoredINI := filepath.Join(t.TempDir(), "user.ini")
	if err := os.WriteFile(ignoredINI, []byte("[cloudtrail]\ns3_key_ignored = /CloudTrail/[^/]+/ignored/\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// 8. a 300 KB record and strings around the 32,766-byte limit.
	big := strings.Repeat("x", 300_000)
	at32765 := strings.Repeat("y", 32_765)
	at32766 := strings.Repeat("z", 32_766)
	bigCT := ctFile(t, ctRecord("big-1", map[string]any{
		"requestParameters": map[string]any{"userData": big, "justBelow": at32765, "atLimit": at32766},
	}))

	// 9. VPC flow logs.
	vpcBadFields := vpcHeader + "\n" + vpcLine(1) + "\n" + vpcLine(2) + " 99\n" + vpcLine(3) + "\n" + strings.TrimSuffix(vpcLine(4), " OK") + "\n" + vpcLine(5) + "\n"
	vpcNoHeader := vpcLine(1) + "\n" + vpcLine(2) + "\n" + vpcLine(3) + "\n"
	vpcNoNL := vpcHeader + "\n" + vpcLine(1) + "\n" + vpcLine(2) + "\n" + vpcLine(3)

	cases := []badInputCase{
		{
			name:       "truncated gzip of CloudTrail NDJSON",
			files:      map[string][]byte{ctPrefix + "trunc.json.gz": ctTrunc},
			wantCode:   ExitFailure,
			wantStderr: []string{ctPrefix + "trunc.json.gz: ", "corrupt or truncated", fmt.Sprintf("%d records, %d documents", ctComplete, ctComplete)},
			docField:   "eventID",
			wantDocs:   ctTruncIDs,
		},
		{
			name:       "truncated gzip of VPC flow log lines",
			files:      map[string][]byte{vpcPrefix + "trunc.log.gz": vpcTrunc},
			wantCode:   ExitFailure,
			wantStderr: []string{vpcPrefix + "trunc.log.gz: ", "corrupt or truncated", fmt.Sprintf("%d records, %d documents", vpcComplete-1, vpcComplete-1)},
			docField:   "interface_id",
			wantDocs:   vpcTruncIDs,
		},
		{
			name:        "random bytes with --type cloudtrail",
			files:       map[string][]byte{"random.bin": random},
			args:        []string{"--type", "cloudtrail"},
			wantCode:    ExitFailure,
			wantStderr:  []string{"random.bin:1: ", "json syntax error at line 1"},
			notStderr:   []string{"panic", "goroutine"},
			check:       checkRandomDead("random.bin"),
			deadByCheck: true,
		},
		{
			name:        "random bytes under a CloudTrail key",
			files:       map[string][]byte{ctPrefix + "123456789012_CloudTrail_us-east-1_20240102T0305Z_x.json": random},
			wantCode:    ExitFailure,
			wantStderr:  []string{ctPrefix + "123456789012_CloudTrail_us-east-1_20240102T0305Z_x.json:1: ", "json syntax error at line 1"},
			notStderr:   []string{"panic", "goroutine"},
			check:       checkRandomDead(ctPrefix + "123456789012_CloudTrail_us-east-1_20240102T0305Z_x.json"),
			deadByCheck: true,
		},
		{
			name:       "random bytes after a gzip magic number",
			files:      map[string][]byte{ctPrefix + "magic.json.gz": randomGzipMagic},
			wantCode:   ExitFailure,
			wantStderr: []string{ctPrefix + "magic.json.gz: ", "gzip", "corrupt or truncated"},
			notStderr:  []string{"panic", "goroutine"},
		},
		{
			name:       "GuardDuty NDJSON line cut in half",
			files:      map[string][]byte{gdPrefix + "findings.jsonl": []byte(strings.Join(gd, "\n") + "\n")},
			wantCode:   ExitFailure,
			wantStderr: []string{gdPrefix + "findings.jsonl:3: ", "5 records, 4 documents"},
			docField:   "id",
			wantDocs:   []string{"f1", "f2", "f4", "f5"},
			wantDead:   []wantDead{{key: gdPrefix + "findings.jsonl", logType: "guardduty", line: 3, reason: []string{"syntax error", "line 3"}, raw: gdCut}},
		},
		{
			name:     "invalid UTF-8 in a CloudTrail string",
			files:    map[string][]byte{ctPrefix + "utf8.json": badUTF8CT},
			wantCode: ExitOK,
			docField: "userAgent",
			wantDocs: []string{"aws-cli/\uFFFD/2"},
			check: func(t *testing.T, r *loadRun) {
				if len(r.docs) != 1 {
					return
				}
				if ua, _ := field(r.docs[0].Source, "user_agent.original"); ua != "aws-cli/\uFFFD/2" {
					t.Errorf("user_agent.original = %q, want %q", ua, "aws-cli/\uFFFD/2")
				}
				if msg, _ := field(r.docs[0].Source, "@message"); !strings.Contains(msg, "aws-cli/\uFFFD/2") {
					t.Errorf("@message does not hold the replaced user agent: %.300q", msg)
				}
			},
		},
		{
			name:     "invalid UTF-8 in a VPC flow log line",
			files:    map[string][]byte{vpcPrefix + "utf8.log": badUTF8VPC},
			wantCode: ExitOK,
			docField: "action",
			wantDocs: []string{"ACC\uFFFD(EPT", "ACCEPT"},
		},
		{
			name:       "CloudTrail record without eventTime",
			files:      map[string][]byte{ctPrefix + "notime.json": ctFile(t, ctRecord("ev-1", nil), noTime, ctRecord("ev-3", nil))},
			wantCode:   ExitFailure,
			wantStderr: []string{ctPrefix + "notime.json:1: ", "eventTime", "3 records, 2 documents"},
			docField:   "eventID",
			wantDocs:   []string{"ev-1", "ev-3"},
			wantDead:   []wantDead{{key: ctPrefix + "notime.json", logType: "cloudtrail", line: 1, reason: []string{"eventTime", "missing"}, raw: string(noTimeRaw)}},
		},
		{
			name:       "CloudTrail record with an unparsable eventTime",
			files:      map[string][]byte{ctPrefix + "badtime.json": ctFile(t, badTime, ctRecord("ev-2", nil))},
			wantCode:   ExitFailure,
			wantStderr: []string{ctPrefix + "badtime.json:1: ", "eventTime", "2 records, 1 documents"},
			docField:   "eventID",
			wantDocs:   []string{"ev-2"},
			wantDead:   []wantDead{{key: ctPrefix + "badtime.json", logType: "cloudtrail", line: 1, reason: []string{"eventTime", "yesterday"}, raw: string(badTimeRaw)}},
		},
		{
			name:       "unknown log type",
			files:      map[string][]byte{"applogs/2024/01/02/app.log": []byte("hello world\n")},
			wantCode:   ExitFailure,
			wantStderr: []string{"applogs/2024/01/02/app.log: ", "no log type matches the key"},
		},
		{
			name:       "key matching s3_key_ignored",
			files:      map[string][]byte{"AWSLogs/123456789012/CloudTrail/us-east-1/ignored/x.json": ctFile(t, ctRecord("ign-1", nil))},
			args:       []string{"--config", ignoredINI},
			wantCode:   ExitOK,
			wantStderr: []string{"skipped: ", "AWSLogs/123456789012/CloudTrail/us-east-1/ignored/x.json", "s3_key_ignored", "1 skipped"},
			notStderr:  []string{"error:"},
		},
		{
			name: "empty files",
			files: map[string][]byte{
				ctPrefix + "empty.json":     {},
				ctPrefix + "empty.json.gz":  gzipBytes(t, nil),
				ctPrefix + "empty0.json.gz": {},
				vpcPrefix + "empty.log.gz":  gzipBytes(t, nil),
				gdPrefix + "empty.jsonl":    {},
			},
			wantCode:   ExitOK,
			wantStderr: []string{"5 files, 0 records, 0 documents, 0 errors"},
			notStderr:  []string{"error:"},
		},
		{
			name:       "300 KB CloudTrail record",
			files:      map[string][]byte{ctPrefix + "big.json": bigCT},
			wantCode:   ExitOK,
			wantStderr: []string{"1 records, 1 documents"},
			docField:   "eventID",
			wantDocs:   []string{"big-1"},
			check: func(t *testing.T, r *loadRun) {
				if len(r.docs) != 1 {
					return
				}
				src := r.docs[0].Source
				want := big[:32_753] + "<<TRUNCATED>>"
				if got, _ := field(src, "requestParameters.userData"); got != want {
					t.Errorf("requestParameters.userData: %d bytes, want 32,753 bytes + \"<<TRUNCATED>>\" (%d bytes) as es-loader does; ends %q",
						len(got), len(want), got[max(0, len(got)-20):])
				}
				if got, _ := field(src, "requestParameters.justBelow"); got != at32765 {
					t.Errorf("requestParameters.justBelow (32,765 bytes) was changed: %d bytes", len(got))
				}
				if got, _ := field(src, "requestParameters.atLimit"); got != at32766[:32_753]+"<<TRUNCATED>>" {
					t.Errorf("requestParameters.atLimit (32,766 bytes): %d bytes, want 32,753 + \"<<TRUNCATED>>\"", len(got))
				}
				if msg, _ := field(src, "@message"); !strings.Contains(msg, big) {
					t.Errorf("@message must keep the whole record, got %d bytes", len(msg))
				}
			},
		},
		{
			name:       "VPC line with the wrong number of fields",
			files:      map[string][]byte{vpcPrefix + "fields.log": []byte(vpcBadFields)},
			wantCode:   ExitFailure,
			wantStderr: []string{vpcPrefix + "fields.log:3: ", vpcPrefix + "fields.log:5: ", "15 fields", "13 fields", "5 records, 3 documents"},
			docField:   "interface_id",
			wantDocs:   []string{"eni-00001", "eni-00003", "eni-00005"},
			wantDead: []wantDead{
				{key: vpcPrefix + "fields.log", logType: "vpcflowlogs", line: 3, reason: []string{"15 fields", "14"}, raw: vpcLine(2) + " 99"},
				{key: vpcPrefix + "fields.log", logType: "vpcflowlogs", line: 5, reason: []string{"13 fields", "14"}, raw: strings.TrimSuffix(vpcLine(4), " OK")},
			},
		},
		{
			name:     "VPC file without a header line",
			files:    map[string][]byte{vpcPrefix + "noheader.log": []byte(vpcNoHeader)},
			wantCode: ExitOK,
			docField: "interface_id",
			wantDocs: []string{"eni-00001", "eni-00002", "eni-00003"},
			check: func(t *testing.T, r *loadRun) {
				if len(r.docs) == 0 {
					return
				}
				src := r.docs[0].Source
				for f, want := range map[string]string{
					"version": "2", "account_id": "123456789012", "srcaddr": "10.0.0.2", "dstaddr": "198.51.100.7",
					"srcport": "443", "dstport": "1025", "protocol": "6", "packets": "10", "bytes": "840",
					"start": "1704164645", "end": "1704164701", "action": "ACCEPT", "log_status": "OK",
					"@timestamp": "2024-01-02T03:05:01+00:00", "source.ip": "10.0.0.2", "destination.port": "1025",
				} {
					if got, _ := field(src, f); got != want {
						t.Errorf("%s = %q, want %q (default v2 field order)", f, got, want)
					}
				}
			},
		},
		{
			name:     "VPC last line without a trailing newline",
			files:    map[string][]byte{vpcPrefix + "nonl.log": []byte(vpcNoNL)},
			wantCode: ExitOK,
			docField: "interface_id",
			wantDocs: []string{"eni-00001", "eni-00002", "eni-00003"},
		},
		{
			name:     "VPC last line with a trailing newline",
			files:    map[string][]byte{vpcPrefix + "nl.log": []byte(vpcNoNL + "\n")},
			wantCode: ExitOK,
			docField: "interface_id",
			wantDocs: []string{"eni-00001", "eni-00002", "eni-00003"},
		},
		{
			name:     "gzipped VPC last line without a trailing newline",
			files:    map[string][]byte{vpcPrefix + "nonl.log.gz": gzipBytes(t, []byte(vpcNoNL))},
			wantCode: ExitOK,
			docField: "interface_id",
			wantDocs: []string{"eni-00001", "eni-00002", "eni-00003"},
		},
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := writeBucket(t, tc.files)
			r := runVigilLoad(t, append(append([]string{}, tc.args...), root)...)
			if r.code != tc.wantCode {
				t.Errorf("exit code %d, want %d\nstderr:\n%s", r.code, tc.wantCode, r.stderr)
			}
			for _, s := range tc.wantStderr {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr does not contain %q\nstderr:\n%s", s, r.stderr)
				}
			}
			for _, s := range tc.notStderr {
				if strings.Contains(r.stderr, s) {
					t.Errorf("stderr contains %q\nstderr:\n%s", s, r.stderr)
				}
			}
			if tc.wantCode != ExitOK && !strings.Contains(r.stderr, "error: ") {
				t.Errorf("exit %d but no error listed on stderr:\n%s", r.code, r.stderr)
			}
			var got []string
			for _, d := range r.docs {
				v, ok := field(d.Source, tc.docField)
				if !ok {
					v = fmt.Sprintf("<no %s>", tc.docField)
				}
				got = append(got, v)
			}
			if !equalStrings(got, tc.wantDocs) {
				t.Errorf("documents (%s): got %d %s\nwant %d %s", tc.docField, len(got), summarize(got), len(tc.wantDocs), summarize(tc.wantDocs))
			}
			if !tc.deadByCheck {
				checkDead(t, root, r.dead, tc.wantDead)
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

// checkRandomDead checks the dead-letter entries of a file of random bytes:
// at least one, each naming the key, the type, a line and a syntax error,
// each keeping the bytes it skipped.
func checkRandomDead(key string) func(t *testing.T, r *loadRun) {
	return func(t *testing.T, r *loadRun) {
		if len(r.docs) != 0 {
			t.Errorf("%d documents from random bytes", len(r.docs))
		}
		if len(r.dead) == 0 {
			t.Fatal("no dead-letter entry for random bytes")
		}
		if r.dead[0].Line != 1 {
			t.Errorf("first dead-letter entry is for line %d, want 1", r.dead[0].Line)
		}
		emptyRaw := 0
		for _, d := range r.dead {
			if d.Key != key || d.LogType != "cloudtrail" || d.Line < 1 || !strings.Contains(d.Reason, "syntax error") {
				t.Errorf("dead-letter entry %+v: want key %q, log_type cloudtrail, line >= 1, a syntax error", d, key)
			}
			if d.Raw == "" && d.RawBase64 == "" {
				emptyRaw++
			}
		}
		if emptyRaw > 0 {
			t.Errorf("%d of %d dead-letter entries keep no raw bytes (raw and raw_base64 empty): the skipped bytes cannot be inspected or replayed", emptyRaw, len(r.dead))
		}
	}
}

// checkDead compares dead-letter entries with the expected ones.
func checkDead(t *testing.T, root string, got []deadEntry, want []wantDead) {
	t.Helper()
	if want == nil {
		if len(got) > 0 {
			t.Errorf("%d unexpected dead-letter entries, first: %+v", len(got), got[0])
		}
		return
	}
	if len(got) != len(want) {
		t.Errorf("%d dead-letter entries, want %d: %+v", len(got), len(want), got)
	}
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		if g.Key != w.key {
			t.Errorf("dead letter %d: key %q, want %q", i, g.Key, w.key)
		}
		if wantPath := filepath.Join(root, filepath.FromSlash(w.key)); g.Path != wantPath {
			t.Errorf("dead letter %d: path %q, want %q", i, g.Path, wantPath)
		}
		if g.Bucket != "bucket" {
			t.Errorf("dead letter %d: bucket %q, want %q", i, g.Bucket, "bucket")
		}
		if g.LogType != w.logType {
			t.Errorf("dead letter %d: log_type %q, want %q", i, g.LogType, w.logType)
		}
		if g.Line != w.line {
			t.Errorf("dead letter %d: line %d, want %d", i, g.Line, w.line)
		}
		for _, s := range w.reason {
			if !strings.Contains(g.Reason, s) {
				t.Errorf("dead letter %d: reason %q does not contain %q", i, g.Reason, s)
			}
		}
		raw := string(g.rawBytes(t))
		switch {
		case w.raw != "" && raw != w.raw:
			t.Errorf("dead letter %d (line %d): raw is %d bytes %.120q,\nwant the record as read, %d bytes %.120q", i, g.Line, len(raw), raw, len(w.raw), w.raw)
		case w.rawNonEmpty && raw == "":
			t.Errorf("dead letter %d: raw is empty", i)
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// summarize shows a list of values briefly.
func summarize(v []string) string {
	if len(v) <= 6 {
		return fmt.Sprintf("%q", v)
	}
	return fmt.Sprintf("[%q %q %q ... %q %q]", v[0], v[1], v[2], v[len(v)-2], v[len(v)-1])
}

func TestLoadUsageErrors(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "bucket")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "broken-user.ini")
	if err := os.WriteFile(broken, []byte("[cloudtrail]\nindex_name = log-aws-cloudtrail\nthis line is broken\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	badValue := filepath.Join(dir, "badvalue-user.ini")
	if err := os.WriteFile(badValue, []byte("[cloudtrail]\n\ns3_key = (unclosed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		args       []string
		wantStderr []string
	}{
		{name: "no PATH", args: nil, wantStderr: []string{"no PATH given", "usage: vigil load"}},
		{name: "unknown --type", args: []string{"--type", "nosuchtype", data}, wantStderr: []string{`--type "nosuchtype"`, "unknown log type", "cloudtrail"}},
		{name: "unknown sink kind", args: []string{"--sink", "kafka:topic", data}, wantStderr: []string{`--sink "kafka:topic"`, "unknown sink"}},
		{name: "ndjson sink without a file", args: []string{"--sink", "ndjson:", data}, wantStderr: []string{`--sink "ndjson:"`}},
		{name: "ndjson sink in a missing directory", args: []string{"--sink", "ndjson:" + filepath.Join(dir, "no", "such", "dir", "out.ndjson"), data}, wantStderr: []string{"no such file or directory"}},
		{name: "user.ini with a broken line", args: []string{"--config", broken, data}, wantStderr: []string{broken + ":3:", "this line is broken"}},
		{name: "user.ini with a bad regex", args: []string{"--config", badValue, data}, wantStderr: []string{badValue + ":3:", "s3_key"}},
		{name: "missing user.ini", args: []string{"--config", filepath.Join(dir, "missing.ini"), data}, wantStderr: []string{"missing.ini"}},
		{name: "bad --workers", args: []string{"--workers", "0", data}, wantStderr: []string{"--workers"}},
		{name: "unknown flag", args: []string{"--frobnicate", data}, wantStderr: []string{"frobnicate"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			out := filepath.Join(tmp, "out.ndjson")
			dl := filepath.Join(tmp, "dead.ndjson")
			args := append([]string{"load", "--dead-letter", dl}, tc.args...)
			if !strings.Contains(strings.Join(tc.args, " "), "--sink") {
				args = append(args, "--sink", "ndjson:"+out)
			}
			r := runMain(t, out, dl, args...)
			if r.code != ExitUsage {
				t.Errorf("exit code %d, want %d\nstderr:\n%s", r.code, ExitUsage, r.stderr)
			}
			for _, s := range tc.wantStderr {
				if !strings.Contains(r.stderr, s) {
					t.Errorf("stderr does not contain %q\nstderr:\n%s", s, r.stderr)
				}
			}
			if len(r.docs) > 0 || len(r.dead) > 0 {
				t.Errorf("a usage error wrote %d documents and %d dead letters", len(r.docs), len(r.dead))
			}
		})
	}
}

// TestLoadDeadLetterReplay loads a GuardDuty file with a cut line and a
// finding without updatedAt, fixes the raw records kept in the dead-letter
// file by hand, and loads them again with --type guardduty.
func TestLoadDeadLetterReplay(t *testing.T) {
	lines := []string{gdFinding(1), gdFinding(2), gdFinding(3), gdFinding(4), gdFinding(5)}
	full3 := lines[2]
	lines[2] = full3[:len(full3)/2]
	noTime := regexp.MustCompile(`,"updatedAt":"[^"]*"`).ReplaceAllString(lines[3], "")
	lines[3] = noTime
	root := writeBucket(t, map[string][]byte{gdPrefix + "findings.jsonl.gz": gzipBytes(t, []byte(strings.Join(lines, "\n")+"\n"))})

	first := runVigilLoad(t, root)
	if first.code != ExitFailure {
		t.Errorf("first load: exit %d, want 1\n%s", first.code, first.stderr)
	}
	var ids []string
	for _, d := range first.docs {
		ids = append(ids, d.ID)
	}
	if want := []string{"f1_1", "f2_2", "f5_5"}; !equalStrings(ids, want) {
		t.Errorf("first load: document ids %q, want %q", ids, want)
	}
	if len(first.dead) != 2 {
		t.Fatalf("first load: %d dead-letter entries, want 2: %+v", len(first.dead), first.dead)
	}

	// Fix each raw record by hand, as an operator would.
	var fixed []string
	for _, d := range first.dead {
		raw := string(d.rawBytes(t))
		if d.LogType != "guardduty" || d.Key != gdPrefix+"findings.jsonl.gz" {
			t.Errorf("dead letter %+v: want log_type guardduty and key %q", d, gdPrefix+"findings.jsonl.gz")
		}
		switch d.Line {
		case 3:
			if raw != lines[2] {
				t.Errorf("dead letter for the cut line 3 keeps raw %q, want the cut line %.80q...: it cannot be fixed and replayed", raw, lines[2])
			}
			// The operator completes the cut record.
			fixed = append(fixed, full3)
		case 4:
			if raw != noTime {
				t.Errorf("dead letter for line 4 keeps raw %.120q, want %.120q", raw, noTime)
			}
			if !strings.Contains(d.Reason, "updatedAt") {
				t.Errorf("dead letter for line 4: reason %q does not name updatedAt", d.Reason)
			}
			// The operator adds the missing timestamp.
			fixed = append(fixed, strings.Replace(raw, `"title"`, `"updatedAt":"2024-01-02T04:00:00.000Z","title"`, 1))
		default:
			t.Errorf("unexpected dead letter for line %d: %+v", d.Line, d)
		}
	}

	replay := filepath.Join(t.TempDir(), "replay.ndjson")
	if err := os.WriteFile(replay, []byte(strings.Join(fixed, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	second := runVigilLoad(t, "--type", "guardduty", replay)
	if second.code != ExitOK {
		t.Errorf("replay: exit %d, want 0\n%s", second.code, second.stderr)
	}
	ids = ids[:0]
	for _, d := range second.docs {
		ids = append(ids, d.ID)
	}
	if want := []string{"f3_3", "f4_4"}; !equalStrings(ids, want) {
		t.Errorf("replay: document ids %q, want %q", ids, want)
	}
	if len(second.dead) != 0 {
		t.Errorf("replay: %d dead letters: %+v", len(second.dead), second.dead)
	}
}

// TestLoadSummaryErrorCount checks that the summary's error count counts a
// failed record once: a file with five records, one of them bad, is "5
// records, 4 documents, 1 errors", not 2 (the record plus its file).
func TestLoadSummaryErrorCount(t *testing.T) {
	lines := []string{gdFinding(1), gdFinding(2), "{not json}", gdFinding(4), gdFinding(5)}
	root := writeBucket(t, map[string][]byte{gdPrefix + "f.jsonl": []byte(strings.Join(lines, "\n"))})
	r := runVigilLoad(t, root)
	if r.code != ExitFailure {
		t.Errorf("exit %d, want 1", r.code)
	}
	if !strings.Contains(r.stderr, "5 records, 4 documents, 1 errors") {
		t.Errorf("summary does not say %q:\n%s", "5 records, 4 documents, 1 errors", r.stderr)
	}
}

// TestLoadSinkStdout checks that --sink ndjson:- writes to the command's
// stdout (the Env given to Main), not to the process's.
func TestLoadSinkStdout(t *testing.T) {
	root := writeBucket(t, map[string][]byte{ctPrefix + "one.json": ctFile(t, ctRecord("stdout-1", nil))})
	dl := filepath.Join(t.TempDir(), "dead.ndjson")
	var stdout, stderr bytes.Buffer
	code := Main(context.Background(), []string{"load", "--quiet", "--sink", "ndjson:-", "--dead-letter", dl, root},
		strings.NewReader(""), &stdout, &stderr)
	if code != ExitOK {
		t.Errorf("exit %d, want 0\n%s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), `"_id":"stdout-1"`) {
		t.Errorf("--sink ndjson:- did not write the document to the stdout given to Main (got %q)", stdout.String())
	}
}
