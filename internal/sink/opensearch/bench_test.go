package opensearch

import (
	"context"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/opensearch"
	"github.com/vigil-siem/vigil/internal/pipeline"
	"github.com/vigil-siem/vigil/internal/testutil/opensearchtest"
)

// benchDocs returns n CloudTrail-like ECS documents (about 2 KB each, with
// @message repeating the record as es-loader documents do), varied enough
// that gzip sees realistic data.
func benchDocs(n int) ([]event.Document, int64) {
	r := rand.New(rand.NewPCG(1, 2))
	names := []string{"CreateLogStream", "AssumeRole", "GetObject", "PutObject", "DescribeInstances", "ConsoleLogin", "ListBuckets", "Decrypt"}
	sources := []string{"logs.amazonaws.com", "sts.amazonaws.com", "s3.amazonaws.com", "ec2.amazonaws.com", "signin.amazonaws.com", "kms.amazonaws.com"}
	regions := []string{"us-east-1", "ap-northeast-1", "eu-west-1", "us-west-2"}
	uuid := func() string {
		return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xffff, r.Uint32()&0xffff, r.Uint64()&0xffffffffffff)
	}
	var total int64
	out := make([]event.Document, n)
	for i := range out {
		id := uuid()
		name, src, region := names[r.IntN(len(names))], sources[r.IntN(len(sources))], regions[r.IntN(len(regions))]
		ip := fmt.Sprintf("%d.%d.%d.%d", r.IntN(223)+1, r.IntN(256), r.IntN(256), r.IntN(256))
		ts := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 317 * time.Millisecond).Format("2006-01-02T15:04:05Z")
		rec := fmt.Sprintf(`{\"eventVersion\": \"1.08\", \"userIdentity\": {\"type\": \"IAMUser\", \"principalId\": \"AIDA%016X\", \"arn\": \"arn:aws:iam::123456789012:user/user%d\", \"accountId\": \"123456789012\", \"userName\": \"user%d\"}, \"eventTime\": \"%s\", \"eventSource\": \"%s\", \"eventName\": \"%s\", \"awsRegion\": \"%s\", \"sourceIPAddress\": \"%s\", \"userAgent\": \"aws-cli/2.15.%d Python/3.11.6 Linux/6.1\", \"requestParameters\": {\"bucketName\": \"bucket-%d\", \"key\": \"data/%x.json\"}, \"requestID\": \"%s\", \"eventID\": \"%s\", \"readOnly\": true, \"eventType\": \"AwsApiCall\", \"managementEvent\": false, \"recipientAccountId\": \"123456789012\"}`,
			r.Uint64(), r.IntN(50), r.IntN(50), ts, src, name, region, ip, r.IntN(30), r.IntN(20), r.Uint64(), uuid(), id)
		doc := fmt.Sprintf(`{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","userName":"user%d","accountId":"123456789012"},"eventTime":"%s","eventSource":"%s","eventName":"%s","awsRegion":"%s","sourceIPAddress":"%s","requestID":"%s","eventID":"%s","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"123456789012","@message":"%s","@timestamp":"%s","@id":"%s","@log_type":"cloudtrail","@log_s3bucket":"aes-siem-123456789012-log","@log_s3key":"AWSLogs/123456789012/CloudTrail/%s/2024/01/01/123456789012_CloudTrail_%s_20240101T0000Z_%x.json.gz","@log_group":"","@log_stream":"","event":{"module":"cloudtrail","category":["iam"],"action":"%s","outcome":"success","kind":"event","type":["info"],"provider":"%s","ingested":"2024-01-02T03:04:05Z"},"cloud":{"provider":"aws","account":{"id":"123456789012"},"region":"%s"},"source":{"ip":"%s","address":"%s","geo":{"country_iso_code":"JP","location":{"lat":35.6,"lon":139.7}},"as":{"number":%d,"organization":{"name":"Example Org %d"}}},"user":{"name":"user%d"},"user_agent":{"original":"aws-cli/2.15 Python/3.11.6 Linux/6.1","name":"aws-cli"},"related":{"ip":["%s"],"user":["user%d"]},"ecs":{"version":"1.12.0"}}`,
			r.IntN(50), ts, src, name, region, ip, uuid(), id, rec, ts, id, region, region, r.Uint64(), name, src, region, ip, ip, r.IntN(65000), r.IntN(500), r.IntN(50), ip, r.IntN(50))
		out[i] = event.Document{Index: "log-aws-cloudtrail-2024-01", ID: id, Source: []byte(doc), LogType: "cloudtrail"}
		total += int64(len(doc))
	}
	return out, total
}

// BenchmarkBulkEncode measures building bulk bodies and gzipping them, on
// one goroutine; the throughput is of document bytes.
func BenchmarkBulkEncode(b *testing.B) {
	ds, total := benchDocs(5000)
	var z compressor
	bk := &bulk{body: make([]byte, 0, DefaultMaxBulkBytes+DefaultMaxBulkBytes/8)}
	var sent int64
	b.SetBytes(total)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for range b.N {
		bk.reset()
		for i := range ds {
			bk.add(&ds[i], ds[i].Index, OpIndex, true)
			if len(bk.body) >= DefaultMaxBulkBytes {
				out, err := z.compress(bk.body)
				if err != nil {
					b.Fatal(err)
				}
				sent += int64(len(out))
				bk.reset()
			}
		}
		if len(bk.body) > 0 {
			out, err := z.compress(bk.body)
			if err != nil {
				b.Fatal(err)
			}
			sent += int64(len(out))
		}
	}
	// On a shared machine wall time includes waiting for a core; CPU time
	// is what one core spends.
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(total*int64(b.N))/cpu.Seconds()/1e6, "cpu-MB/s")
	}
	b.ReportMetric(float64(total*int64(b.N))/float64(sent), "ratio")
}

// cpuTime is the CPU time the process has used (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkBulkEncodeOnly measures building bulk bodies without gzip.
func BenchmarkBulkEncodeOnly(b *testing.B) {
	ds, total := benchDocs(5000)
	bk := &bulk{body: make([]byte, 0, 16<<20)}
	b.SetBytes(total)
	b.ResetTimer()
	for range b.N {
		bk.reset()
		for i := range ds {
			bk.add(&ds[i], ds[i].Index, OpIndex, true)
		}
	}
}

// BenchmarkSinkEndToEnd loads documents into the in-process server through
// the whole sink (encoding, gzip, HTTP, per-item answers, acks) and reports
// documents per second.
func BenchmarkSinkEndToEnd(b *testing.B) {
	ds, total := benchDocs(20000)
	srv := opensearchtest.New(b, opensearchtest.Options{DiscardBodies: true})
	ctx := context.Background()
	b.SetBytes(total)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		s, err := New(ctx, Config{OpenSearch: opensearch.Config{URL: srv.URL()}, NoReadOnlyCheck: true}, &memDL{}, nil)
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; i < len(ds); i += 1000 {
			if err := s.Write(ctx, &pipeline.Batch{Docs: ds[i : i+1000]}); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.Close(ctx); err != nil {
			b.Fatal(err)
		}
		if st := s.Stats(); st.Delivered != int64(len(ds)) {
			b.Fatalf("delivered %d of %d", st.Delivered, len(ds))
		}
	}
	b.ReportMetric(float64(len(ds)*b.N)/time.Since(start).Seconds(), "docs/s")
}
