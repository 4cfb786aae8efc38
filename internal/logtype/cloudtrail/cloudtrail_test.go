package cloudtrail_test

import (
	"testing"

	"github.com/vigil-siem/vigil/internal/event"
	"github.com/vigil-siem/vigil/internal/logtype/cloudtrail"
	"github.com/vigil-siem/vigil/internal/normalize"
	"github.com/vigil-siem/vigil/internal/testutil"
)

const key = "AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/02/123456789012_CloudTrail_us-east-1_20240102T0305Z_abc.json.gz"

// normalizeRecord runs rec through the cloudtrail type and its transform.
func normalizeRecord(t *testing.T, rec string) (map[string]any, normalize.Meta) {
	t.Helper()
	return testutil.Normalize(t, "cloudtrail", cloudtrail.Script{}, event.Origin{Bucket: "trail-bucket", Key: key}, rec, "")
}

var (
	get    = testutil.Get
	absent = testutil.Absent
)

func TestTransform(t *testing.T) {
	base := `"eventVersion":"1.08","eventTime":"2024-01-02T03:04:05Z","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.10","recipientAccountId":"123456789012","eventID":"e-1"`
	tests := []struct {
		name string
		rec  string
		want map[string]any // dotted path -> value (strings, json.Number, or absent)
	}{
		{
			name: "assumed-role ARN gives the session name",
			rec: `{` + base + `,"eventSource":"s3.amazonaws.com","eventName":"GetObject",
				"userIdentity":{"type":"AssumedRole","principalId":"AROAEXAMPLE:alice@example.com",
				"arn":"arn:aws:sts::123456789012:assumed-role/Admin/alice@example.com"}}`,
			want: map[string]any{"user.name": "alice@example.com", "event.outcome": "success",
				"userIdentity.arn": "arn:aws:sts::123456789012:assumed-role/Admin/alice@example.com"},
		},
		{
			name: "IAM user name is kept",
			rec: `{` + base + `,"eventSource":"iam.amazonaws.com","eventName":"ListUsers",
				"userIdentity":{"type":"IAMUser","userName":"bob","arn":"arn:aws:iam::123456789012:user/bob"}}`,
			want: map[string]any{"user.name": "bob"},
		},
		{
			name: "root ARN without a slash",
			rec: `{` + base + `,"eventSource":"iam.amazonaws.com","eventName":"ListUsers",
				"userIdentity":{"type":"Root","arn":"arn:aws:iam::123456789012:root"}}`,
			want: map[string]any{"user.name": "root"},
		},
		{
			name: "errorCode gives failure",
			rec: `{` + base + `,"eventSource":"iam.amazonaws.com","eventName":"CreateUser","errorCode":"AccessDenied",
				"errorMessage":"User is not authorized"}`,
			want: map[string]any{"event.outcome": "failure", "error.code": "AccessDenied", "error.message": "User is not authorized"},
		},
		{
			name: "errorCode null still gives failure",
			rec:  `{` + base + `,"eventSource":"iam.amazonaws.com","eventName":"CreateUser","errorCode":null}`,
			want: map[string]any{"event.outcome": "failure", "errorCode": absent, "error.code": absent},
		},
		{
			name: "errorMessage alone gives failure",
			rec:  `{` + base + `,"eventSource":"iam.amazonaws.com","eventName":"CreateUser","errorMessage":"no"}`,
			want: map[string]any{"event.outcome": "failure"},
		},
		{
			name: "SSM StartSession target is the instance",
			rec: `{` + base + `,"eventSource":"ssm.amazonaws.com","eventName":"StartSession",
				"requestParameters":{"target":"i-0123456789abcdef0"},"responseElements":{"sessionId":"s-1"}}`,
			want: map[string]any{"cloud.instance.id": "i-0123456789abcdef0", "requestParameters.target": "i-0123456789abcdef0"},
		},
		{
			name: "SSM PutComplianceItems with an instance resource id",
			rec: `{` + base + `,"eventSource":"ssm.amazonaws.com","eventName":"PutComplianceItems",
				"requestParameters":{"resourceId":"i-0123456789abcdef0","resourceType":"ManagedInstance"}}`,
			want: map[string]any{"cloud.instance.id": "i-0123456789abcdef0"},
		},
		{
			name: "SSM PutComplianceItems with another resource id",
			rec: `{` + base + `,"eventSource":"ssm.amazonaws.com","eventName":"PutComplianceItems",
				"requestParameters":{"resourceId":"mi-0123456789abcdef0"}}`,
			want: map[string]any{"cloud.instance.id": absent},
		},
		{
			name: "STS AssumeRole by EC2 gives the role session name",
			rec: `{` + base + `,"eventSource":"sts.amazonaws.com","eventName":"AssumeRole","userAgent":"ec2.amazonaws.com",
				"userIdentity":{"type":"AWSService","invokedBy":"ec2.amazonaws.com"},
				"requestParameters":{"roleArn":"arn:aws:iam::123456789012:role/web","roleSessionName":"i-0fedcba9876543210"}}`,
			want: map[string]any{"cloud.instance.id": "i-0fedcba9876543210", "event.outcome": "success"},
		},
		{
			name: "STS AssumeRole by someone else has no instance",
			rec: `{` + base + `,"eventSource":"sts.amazonaws.com","eventName":"AssumeRole","userAgent":"aws-cli/2.0",
				"requestParameters":{"roleSessionName":"alice"}}`,
			want: map[string]any{"cloud.instance.id": absent},
		},
		{
			name: "credentials as an IAM ARN string",
			rec: `{` + base + `,"eventSource":"sts.amazonaws.com","eventName":"GetFederationToken",
				"responseElements":{"credentials":"arn:aws:iam::123456789012:role/x"}}`,
			want: map[string]any{"responseElements.credentials.iam": "arn:aws:iam::123456789012:role/x",
				"responseElements.credentials.value": absent},
		},
		{
			name: "credentials as another string",
			rec: `{` + base + `,"eventSource":"sts.amazonaws.com","eventName":"GetFederationToken",
				"responseElements":{"credentials":"HIDDEN_DUE_TO_SECURITY_REASONS"}}`,
			want: map[string]any{"responseElements.credentials.value": "HIDDEN_DUE_TO_SECURITY_REASONS",
				"responseElements.credentials.iam": absent},
		},
		{
			name: "credentials as an object are kept",
			rec: `{` + base + `,"eventSource":"sts.amazonaws.com","eventName":"AssumeRole",
				"responseElements":{"credentials":{"accessKeyId":"ASIAEXAMPLE","expiration":"Jan 2, 2024"}}}`,
			want: map[string]any{"responseElements.credentials.accessKeyId": "ASIAEXAMPLE",
				"responseElements.credentials.value": absent},
		},
		{
			name: "CloudHSM: the HSM is the instance, related holds hosts only",
			rec: `{` + base + `,"eventSource":"cloudhsm.amazonaws.com","eventName":"CreateHsm",
				"requestParameters":{"clusterId":"cluster-1"},"responseElements":{"hsm":{"hsmId":"hsm-1"}}}`,
			want: map[string]any{"cloud.instance.id": "hsm-1", "related.hosts": []any{"cluster-1", "hsm-1"}, "related.ip": absent},
		},
		{
			name: "tags and policy as text become objects",
			rec: `{` + base + `,"eventSource":"iam.amazonaws.com","eventName":"CreatePolicy",
				"requestParameters":{"tags":"env=prod"},"responseElements":{"policy":"{}","status":"ok"}}`,
			want: map[string]any{"requestParameters.tags.value": "env=prod", "responseElements.policy.value": "{}",
				"responseElements.status.status": "ok"},
		},
		{
			name: "tags as a list of strings, an empty list, disableApiTermination as an object",
			rec: `{` + base + `,"eventSource":"ec2.amazonaws.com","eventName":"ModifyInstanceAttribute",
				"requestParameters":{"tags":["a","b"],"disableApiTermination":{"value":true}},"responseElements":{"policy":[]}}`,
			want: map[string]any{"requestParameters.tags.value": []any{"a", "b"},
				"requestParameters.disableApiTermination": true, "responseElements.policy": absent},
		},
		{
			name: "text fields of Glue, Cognito, ECS, SSM, Redshift Data, Cloud9 and DynamoDB become objects",
			rec: `{` + base + `,"eventSource":"glue.amazonaws.com","eventName":"CreateJob",
				"requestParameters":{"configuration":"{\"a\":1}"}}`,
			want: map[string]any{"requestParameters.configuration.text": `{"a":1}`},
		},
		{
			name: "S3 replication rule filters become text",
			rec: `{` + base + `,"eventSource":"s3.amazonaws.com","eventName":"PutBucketReplication",
				"requestParameters":{"ReplicationConfiguration":{"Rule":[{"ID":"r1","Filter":{"Prefix":"logs/"}}]}}}`,
			want: map[string]any{"requestParameters.ReplicationConfiguration.Rule.0.Filter": "{'Prefix': 'logs/'}",
				"requestParameters.ReplicationConfiguration.Rule.0.ID": "r1"},
		},
		{
			name: "Inspector account ids as objects become text",
			rec: `{` + base + `,"eventSource":"inspector2.amazonaws.com","eventName":"Enable",
				"requestParameters":{"accountIds":[{"accountId":"123456789012"}]}}`,
			want: map[string]any{"requestParameters.accountIds": "[{'accountId': '123456789012'}]"},
		},
		{
			name: "CodeGuru resource id as an object becomes text",
			rec: `{` + base + `,"eventSource":"codeguru-security.amazonaws.com","eventName":"CreateScan",
				"requestParameters":{"resourceId":{"codeArtifactId":"x"}}}`,
			want: map[string]any{"requestParameters.resourceId": "{'codeArtifactId': 'x'}"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, meta := normalizeRecord(t, tc.rec)
			if meta.ID != "e-1" {
				t.Errorf("ID = %q, want the eventID e-1", meta.ID)
			}
			if meta.Index != "log-aws-cloudtrail-2024-01" {
				t.Errorf("Index = %q, want log-aws-cloudtrail-2024-01", meta.Index)
			}
			testutil.CheckFields(t, doc, tc.want)
			for path, want := range map[string]any{
				"@log_type": "cloudtrail", "cloud.account.id": "123456789012",
				"cloud.region": "us-east-1", "source.ip": "192.0.2.10", "@timestamp": "2024-01-02T03:04:05+00:00",
				"@log_s3bucket": "trail-bucket", "@log_s3key": key,
			} {
				if got, _ := get(doc, path); got != want {
					t.Errorf("%s = %#v, want %#v", path, got, want)
				}
			}
		})
	}
}
