package codec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"testing"
)

// cloudTrailRecord returns a CloudTrail-like record of about 1.3 KB.
func cloudTrailRecord(i int) string {
	return fmt.Sprintf(`{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLEID:session-%d","arn":"arn:aws:sts::123456789012:assumed-role/Admin/session-%d","accountId":"123456789012","accessKeyId":"ASIAEXAMPLEKEY%06d","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAEXAMPLEID","arn":"arn:aws:iam::123456789012:role/Admin","accountId":"123456789012","userName":"Admin"},"webIdFederationData":{},"attributes":{"creationDate":"2024-05-01T10:00:00Z","mfaAuthenticated":"false"}}},"eventTime":"2024-05-01T10:%02d:%02dZ","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.%d","userAgent":"[aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64.amzn.2023 prompt/off command/s3.cp]","requestParameters":{"bucketName":"example-bucket","Host":"example-bucket.s3.us-east-1.amazonaws.com","key":"logs/2024/05/01/object-%d.json.gz"},"responseElements":null,"additionalEventData":{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":0,"AuthenticationMethod":"AuthHeader","x-amz-id-2":"EXAMPLEid2/abc+def\"quoted\"==","bytesTransferredOut":52344},"requestID":"EXAMPLE%08X","eventID":"%08x-1234-5678-9abc-def012345678","readOnly":true,"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::example-bucket/logs/2024/05/01/object-%d.json.gz"},{"accountId":"123456789012","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::example-bucket"}],"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"123456789012","eventCategory":"Data","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"example-bucket.s3.us-east-1.amazonaws.com"}}`,
		i, i, i, i%60, i%60, i%256, i, i, i, i)
}

func recordsDoc(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"Records":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(cloudTrailRecord(i))
	}
	b.WriteString("]}")
	return b.Bytes()
}

func ndjsonDoc(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		b.WriteString(cloudTrailRecord(i))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// flowLines returns n VPC flow log lines (about 110 bytes each).
func flowLines(n int) []byte {
	var b bytes.Buffer
	b.WriteString("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n")
	for i := range n {
		fmt.Fprintf(&b, "2 123456789012 eni-0a1b2c3d%08x 10.0.%d.%d 172.31.%d.%d %d 443 6 %d %d 1714557600 1714557660 ACCEPT OK\n",
			i, i%256, (i/256)%256, i%200, i%100, 1024+i%60000, i%50, i*40%100000)
	}
	return b.Bytes()
}

func drain(b *testing.B, rr recordReader) int {
	n := 0
	for {
		_, err := rr.Next()
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
}

func BenchmarkLineReader(b *testing.B) {
	data := flowLines(100000)
	rd := bytes.NewReader(data)
	lr := NewLineReader(rd, Config{})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(data)
		lr.Reset(rd)
		if n := drain(b, lr); n != 100001 {
			b.Fatalf("%d lines", n)
		}
	}
}

func BenchmarkMultilineReader(b *testing.B) {
	data := flowLines(100000)
	rd := bytes.NewReader(data)
	mr := NewMultilineReader(rd, firstLineRe, Config{})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(data)
		mr.Reset(rd)
		drain(b, mr)
	}
}

func BenchmarkJSONReaderRecords(b *testing.B) {
	data := recordsDoc(1000)
	rd := bytes.NewReader(data)
	jr := NewJSONReader(rd, "Records", Config{})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(data)
		jr.Reset(rd)
		if n := drain(b, jr); n != 1000 {
			b.Fatalf("%d records", n)
		}
	}
}

func BenchmarkJSONReaderNDJSON(b *testing.B) {
	data := ndjsonDoc(1000)
	rd := bytes.NewReader(data)
	jr := NewJSONReader(rd, "", Config{})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(data)
		jr.Reset(rd)
		if n := drain(b, jr); n != 1000 {
			b.Fatalf("%d records", n)
		}
	}
}

// BenchmarkDecompressGzip measures gunzip plus JSON framing of a gzipped
// CloudTrail object; MB/s are of decompressed bytes.
func BenchmarkDecompressGzip(b *testing.B) {
	plain := recordsDoc(1000)
	gz := gzipBytes(b, string(plain))
	rd := bytes.NewReader(gz)
	jr := NewJSONReader(nil, "Records", Config{})
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(gz)
		err := Decompress(rd, func(_ string, body io.Reader) error {
			jr.Reset(body)
			if n := drain(b, jr); n != 1000 {
				b.Fatalf("%d records", n)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

var firstLineRe = regexp.MustCompile(`^2 `)
