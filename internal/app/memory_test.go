//go:build conformance

package app

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
)

// Memory budget of `vigil load` on one large object.
const (
	largeCloudTrailBytes = 1 << 30   // uncompressed size of the generated object
	maxLoadRSS           = 200 << 20 // peak resident set size allowed
)

// TestLoadLargeCloudTrailMemory loads one ~1 GiB (uncompressed) CloudTrail
// object, {"Records":[...]} gzipped, with the vigil binary in a
// subprocess, and checks that its peak RSS stays under 200 MB: objects are
// streamed, never read whole.
func TestLoadLargeCloudTrailMemory(t *testing.T) {
	dir := t.TempDir()

	bin := filepath.Join(dir, "vigil")
	build := exec.Command("go", "build", "-o", bin, "github.com/vigil-siem/vigil/cmd/vigil")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	key := "AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/02/123456789012_CloudTrail_us-east-1_20240102T0300Z_large.json.gz"
	bucket := filepath.Join(dir, "bucket")
	path := filepath.Join(bucket, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	records, raw, stored := writeLargeCloudTrail(t, path, largeCloudTrailBytes)
	t.Logf("generated %d records, %.0f MiB uncompressed, %.0f MiB gzipped, in %.1f s",
		records, float64(raw)/(1<<20), float64(stored)/(1<<20), time.Since(start).Seconds())

	var stderr bytes.Buffer
	cmd := exec.Command(bin, "load", "--sink", "ndjson:/dev/null", "--dead-letter", filepath.Join(dir, "dead.ndjson"), bucket)
	cmd.Stderr = &stderr
	// A child started by os/exec shares this process's memory until it
	// execs, and Linux keeps that memory's high-water mark as the child's
	// Maxrss: when this test process is the larger, Maxrss is its figure.
	parentHWM := readVmHWM("/proc/self/status") * 1024
	start = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Poll VmHWM as a cross-check of the rusage figure.
	done := make(chan struct{})
	hwm := make(chan int64, 1)
	go func() {
		var peak int64
		status := fmt.Sprintf("/proc/%d/status", cmd.Process.Pid)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			if kb := readVmHWM(status); kb > peak {
				peak = kb
			}
			select {
			case <-done:
				hwm <- peak
				return
			case <-tick.C:
			}
		}
	}()
	werr := cmd.Wait()
	close(done)
	polled := <-hwm
	elapsed := time.Since(start)
	if werr != nil {
		t.Fatalf("vigil load: %v\nstderr:\n%s", werr, stderr.String())
	}

	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		t.Fatalf("no rusage for the vigil process (%T)", cmd.ProcessState.SysUsage())
	}
	peak := ru.Maxrss * 1024 // KiB on Linux
	source := "Maxrss"
	if peak <= parentHWM {
		// The test process's own mark: use the child's, polled.
		peak, source = polled*1024, "VmHWM polled; Maxrss is this test process's"
	}
	t.Logf("vigil load: %d records in %.1f s (%.0f records/s, %.0f MiB/s uncompressed); peak RSS %.1f MiB (%s); Maxrss %.1f MiB, VmHWM polled %.1f MiB, test process %.1f MiB",
		records, elapsed.Seconds(), float64(records)/elapsed.Seconds(), float64(raw)/(1<<20)/elapsed.Seconds(),
		float64(peak)/(1<<20), source, float64(ru.Maxrss*1024)/(1<<20), float64(polled*1024)/(1<<20), float64(parentHWM)/(1<<20))
	if polled == 0 {
		t.Errorf("could not read the child's VmHWM")
	}
	t.Logf("stderr:\n%s", stderr.String())

	want := fmt.Sprintf("1 files, %d records, %d documents, 0 errors", records, records)
	if !strings.Contains(stderr.String(), want) {
		t.Errorf("summary does not say %q", want)
	}
	if peak >= maxLoadRSS {
		t.Errorf("peak RSS %.1f MiB, want < %d MiB", float64(peak)/(1<<20), maxLoadRSS>>20)
	}
}

var vmHWM = regexp.MustCompile(`(?m)^VmHWM:\s+(\d+) kB`)

// readVmHWM returns the VmHWM of a process in KiB, or 0.
func readVmHWM(status string) int64 {
	b, err := os.ReadFile(status)
	if err != nil {
		return 0
	}
	m := vmHWM.FindSubmatch(b)
	if m == nil {
		return 0
	}
	n, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return n
}

// writeLargeCloudTrail streams a CloudTrail object of at least size bytes
// (uncompressed) to path, gzipped at the fastest level: one template
// record with a counter substituted into its id, time, address and request
// id. It returns the number of records and the raw and stored sizes.
func writeLargeCloudTrail(t *testing.T, path string, size int64) (records, raw, stored int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw, err := gzip.NewWriterLevel(f, gzip.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(zw, 1<<20)

	// The parts of the template around the substituted values.
	const (
		p1 = `{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLEROLEID:session-`
		p2 = `","arn":"arn:aws:sts::123456789012:assumed-role/app-role/session","accountId":"123456789012",` +
			`"accessKeyId":"ASIAEXAMPLEKEYID","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLEROLEID",` +
			`"arn":"arn:aws:iam::123456789012:role/app-role","accountId":"123456789012","userName":"app-role"},` +
			`"attributes":{"creationDate":"2024-01-02T00:00:00Z","mfaAuthenticated":"false"}}},"eventTime":"2024-01-02T`
		p3 = `Z","eventSource":"s3.amazonaws.com","eventName":"`
		p4 = `","awsRegion":"us-east-1","sourceIPAddress":"10.`
		p5 = `","userAgent":"[aws-sdk-go-v2/1.24.0 os/linux lang/go#1.21 md/GOOS#linux md/GOARCH#amd64 api/s3#1.47.0]",` +
			`"requestParameters":{"bucketName":"example-data-bucket","Host":"example-data-bucket.s3.us-east-1.amazonaws.com","key":"data/2024/01/02/object-`
		p6 = `.json"},"responseElements":null,"additionalEventData":{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256",` +
			`"bytesTransferredIn":0,"AuthenticationMethod":"AuthHeader","x-amz-id-2":"ExampleHostId","bytesTransferredOut":1024},` +
			`"requestID":"REQ`
		p7 = `","eventID":"`
		p8 = `","readOnly":true,"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::example-data-bucket/data/2024/01/02/object"},` +
			`{"accountId":"123456789012","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::example-data-bucket"}],"eventType":"AwsApiCall",` +
			`"managementEvent":false,"recipientAccountId":"123456789012","eventCategory":"Data"}`
	)
	names := []string{"GetObject", "PutObject", "HeadObject", "ListObjects", "DeleteObject"}

	var buf []byte
	write := func(b []byte) {
		raw += int64(len(b))
		if _, err := w.Write(b); err != nil {
			t.Fatal(err)
		}
	}
	write([]byte(`{"Records":[`))
	for i := int64(0); raw < size; i++ {
		buf = buf[:0]
		if i > 0 {
			buf = append(buf, ',', '\n')
		}
		buf = append(buf, p1...)
		buf = strconv.AppendInt(buf, i, 10)
		buf = append(buf, p2...)
		s := i % 86400
		buf = fmt.Appendf(buf, "%02d:%02d:%02d", s/3600, s/60%60, s%60)
		buf = append(buf, p3...)
		buf = append(buf, names[i%int64(len(names))]...)
		buf = append(buf, p4...)
		buf = fmt.Appendf(buf, "%d.%d.%d", i>>16&255, i>>8&255, i&255)
		buf = append(buf, p5...)
		buf = strconv.AppendInt(buf, i, 10)
		buf = append(buf, p6...)
		buf = fmt.Appendf(buf, "%016X", uint64(i)*0x9E3779B97F4A7C15)
		buf = append(buf, p7...)
		buf = fmt.Appendf(buf, "%08x-0000-4000-8000-%012x", uint32(i), i)
		buf = append(buf, p8...)
		write(buf)
		records++
	}
	write([]byte("]}\n"))
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return records, raw, st.Size()
}
