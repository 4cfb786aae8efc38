package geoip_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/logtype"
	"github.com/vigil-siem/vigil/internal/logtype/cloudtrail"
	"github.com/vigil-siem/vigil/internal/normalize"
)

// BenchmarkNormalizeCloudTrail measures what GeoIP adds to normalizing a
// CloudTrail record: without the enricher, and with it for records from
// 1,000 addresses (the cache's usual case).
func BenchmarkNormalizeCloudTrail(b *testing.B) {
	reg, err := logtype.Load()
	if err != nil {
		b.Fatal(err)
	}
	ty, _ := reg.Get("cloudtrail")
	records := make([][]byte, 1000)
	for i := range records {
		records[i] = fmt.Appendf(nil, `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::123456789012:user/alice","accountId":"123456789012","accessKeyId":"AKIAEXAMPLE","userName":"alice"},"eventTime":"2024-03-14T10:00:%02dZ","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":"us-east-1","sourceIPAddress":"1.%d.%d.%d","userAgent":"aws-cli/2.15.0","requestParameters":null,"responseElements":null,"requestID":"R%d","eventID":"e%d","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management"}`,
			i%60, 128+i%32, i/32, i%251, i, i)
	}
	db := openTest(b)
	scripts := map[string]normalize.Script{"cloudtrail": cloudtrail.Script{}}
	now := func() time.Time { return time.Unix(1710410400, 0) }
	for _, bc := range []struct {
		name string
		opts []normalize.Option
	}{
		{"without", nil},
		{"with-geoip", []normalize.Option{normalize.WithEnrichers(db.Enricher())}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			n := normalize.New(scripts, now, bc.opts...)
			origin := &event.Origin{Bucket: "b", Key: "AWSLogs/123456789012/CloudTrail/us-east-1/2024/03/14/x.json.gz"}
			var dst []byte
			i := 0
			for b.Loop() {
				var err error
				dst, _, err = n.Normalize(dst[:0], normalize.Input{Type: ty, Origin: origin, RawJSON: records[i%len(records)]})
				if err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "docs/s")
		})
	}
}
