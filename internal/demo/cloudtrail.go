package demo

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// principalKind is the CloudTrail userIdentity type of a caller.
type principalKind int

const (
	pIAMUser principalKind = iota
	pRole                  // an assumed role: instance, function, CI or service-linked
	pService               // an AWS service acting on its own (type AWSService)
	pRoot
)

// principal is someone or something that calls AWS APIs.
type principal struct {
	kind        principalKind
	name        string   // user or role name
	sessions    []string // role session names to choose from
	principalID string   // AIDA... or AROA...
	accessKey   string   // long-term key of an IAM user's CLI
	roleARN     string   // role ARN, when not the plain role/<name>
	invokedBy   string   // service acting through a service-linked role
	ec2Delivery bool     // instance credentials (sessionContext.ec2RoleDelivery)
	rate        float64  // calls per hour at full activity
	profile     func(time.Time) float64
	ip          func(r *rng, t time.Time) string
	agents      []string
	console     float64 // share of calls made from the console
	calls       *weighted[*apiCall]
	homeShare   float64 // share of regional calls in the home region
}

// apiCall is an API operation a principal may call.
type apiCall struct {
	source, name string
	readOnly     bool
	global       bool // recorded in us-east-1 whatever the caller's region
	anyRegion    bool // called evenly in every region
	fail         float64
	errCode      string
	errMsg       string // may hold %[1]s (caller ARN) and %[2]s (action)
	params       func(c *callCtx) any
	resp         func(c *callCtx) any
	eventType    string
}

// callCtx is what a parameter builder may use.
type callCtx struct {
	r      *rng
	a      *account
	p      *principal
	region string
	t      time.Time
}

// Operation shorthands.
func call(source, name string, readOnly bool) *apiCall {
	return &apiCall{source: source + ".amazonaws.com", name: name, readOnly: readOnly}
}

func (c *apiCall) failing(p float64, code, msg string) *apiCall {
	c.fail, c.errCode, c.errMsg = p, code, msg
	return c
}

func (c *apiCall) with(params func(*callCtx) any) *apiCall { c.params = params; return c }

func (c *apiCall) returning(resp func(*callCtx) any) *apiCall { c.resp = resp; return c }

func (c *apiCall) globally() *apiCall { c.global = true; return c }

func (c *apiCall) everywhere() *apiCall { c.anyRegion = true; return c }

const (
	msgIAMDenied = "User: %[1]s is not authorized to perform: %[2]s because no identity-based policy allows the %[2]s action"
	msgEC2Denied = "You are not authorized to perform this operation. User: %[1]s is not authorized to perform: %[2]s because no identity-based policy allows the %[2]s action"
)

// Request parameter builders.
func s3Object(c *callCtx) any {
	b := pick(c.r, c.a.buckets)
	return map[string]any{"bucketName": b, "Host": b + ".s3." + c.region + ".amazonaws.com", "key": objectKey(c.r)}
}

func s3Bucket(c *callCtx) any {
	b := pick(c.r, c.a.buckets)
	return map[string]any{"bucketName": b, "Host": b + ".s3." + c.region + ".amazonaws.com"}
}

func objectKey(r *rng) string {
	dirs := []string{"releases", "exports/daily", "images/products", "reports/2024", "tmp", "builds/main"}
	exts := []string{".json", ".csv.gz", ".png", ".tar.gz", ".parquet"}
	return fmt.Sprintf("%s/%s%s", pick(r, dirs), r.hex(12), pick(r, exts))
}

func describeInstances(c *callCtx) any {
	return map[string]any{"instancesSet": map[string]any{}, "filterSet": map[string]any{}}
}

func kmsParams(c *callCtx) any {
	return map[string]any{"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": map[string]any{"aws:lambda:FunctionArn": "arn:aws:lambda:" + c.region + ":" + c.a.id + ":function:order-processor"}}
}

func logGroup(c *callCtx) any {
	return map[string]any{"logGroupName": pick(c.r, []string{"/aws/lambda/order-processor", "/ecs/web", "/ec2/linux/secure", "/aws/eks/prod/cluster"})}
}

func parameterName(c *callCtx) any {
	return map[string]any{"name": pick(c.r, []string{"/app/db/host", "/app/feature-flags", "/ci/npm-token", "/app/stripe/publishable-key"}), "withDecryption": c.r.chance(0.5)}
}

func secretID(c *callCtx) any {
	return map[string]any{"secretId": pick(c.r, []string{"prod/db/password", "prod/api/signing-key", "ci/deploy-key"})}
}

func stackName(c *callCtx) any {
	return map[string]any{"stackName": pick(c.r, []string{"web-service", "order-pipeline", "network-baseline", "eks-addons"})}
}

func instanceParam(c *callCtx) any {
	hs := c.a.hosts
	h := pick(c.r, hs)
	for h.instanceID == "" {
		h = pick(c.r, hs)
	}
	return map[string]any{"instanceId": h.instanceID}
}

func userNameParam(c *callCtx) any {
	return map[string]any{"userName": pick(c.r, []string{"alice", "bob", "ci-legacy", "backup-operator"})}
}

func roleNameParam(c *callCtx) any {
	return map[string]any{"roleName": pick(c.r, []string{"web-app-role", "app-role", "eks-node-role", "ci-build-role", "order-processor-role"})}
}

func functionParam(c *callCtx) any {
	return map[string]any{"functionName": pick(c.r, []string{"order-processor", "thumbnail-resizer", "nightly-report"})}
}

func assumeRoleParams(c *callCtx) any {
	return map[string]any{"roleArn": "arn:aws:iam::" + c.a.id + ":role/" + pick(c.r, []string{"deploy-role", "read-only", "terraform-admin"}),
		"roleSessionName": "botocore-session-" + strconv.FormatInt(c.t.Unix(), 10), "durationSeconds": 3600}
}

func assumeRoleResp(c *callCtx) any {
	return map[string]any{"credentials": map[string]any{"accessKeyId": "ASIA" + c.r.str(16, keyChars),
		"expiration": c.t.Add(time.Hour).UTC().Format("Jan 2, 2006, 3:04:05 PM")}}
}

// Catalogs of operations by kind of caller.
func adminCalls() []*apiCall {
	return []*apiCall{
		call("ec2", "DescribeInstances", true).with(describeInstances),
		call("cloudtrail", "LookupEvents", true),
		call("ec2", "DescribeSecurityGroups", true),
		call("s3", "ListBuckets", true).globally(),
		call("iam", "ListUsers", true).globally(),
		call("monitoring", "GetMetricData", true),
		call("logs", "DescribeLogGroups", true),
		call("guardduty", "ListFindings", true),
		call("securityhub", "GetFindings", true),
		call("iam", "GetRole", true).with(roleNameParam).globally(),
		call("ec2", "DescribeVpcs", true),
		call("s3", "GetBucketPolicy", true).with(s3Bucket).failing(0.5, "NoSuchBucketPolicy", "The bucket policy does not exist"),
		call("iam", "ListRoles", true).globally(),
		call("cloudtrail", "GetTrailStatus", true),
		call("rds", "DescribeDBInstances", true),
		call("lambda", "ListFunctions20150331", true),
		call("kms", "ListKeys", true),
		call("iam", "GetAccountAuthorizationDetails", true).globally().failing(0.3, "AccessDenied", msgIAMDenied),
		call("ce", "GetCostAndUsage", true).globally(),
		call("ec2", "StopInstances", false).with(instanceParam),
		call("ec2", "StartInstances", false).with(instanceParam),
		call("iam", "CreateAccessKey", false).with(userNameParam).globally(),
	}
}

func developerCalls() []*apiCall {
	return []*apiCall{
		call("sts", "GetCallerIdentity", true),
		call("s3", "GetObject", true).with(s3Object),
		call("logs", "FilterLogEvents", true).with(logGroup),
		call("ec2", "DescribeInstances", true).with(describeInstances).failing(0.05, "Client.UnauthorizedOperation", msgEC2Denied),
		call("ssm", "GetParameter", true).with(parameterName).failing(0.08, "ParameterNotFound", ""),
		call("s3", "ListObjects", true).with(s3Bucket),
		call("cloudformation", "DescribeStacks", true).with(stackName).failing(0.1, "ValidationError", "Stack with id web-service-canary does not exist"),
		call("lambda", "GetFunction20150331v2", true).with(functionParam),
		call("s3", "PutObject", false).with(s3Object),
		call("secretsmanager", "GetSecretValue", true).with(secretID).failing(0.35, "AccessDeniedException", msgIAMDenied),
		call("ecr", "GetAuthorizationToken", true),
		call("sts", "AssumeRole", false).with(assumeRoleParams).returning(assumeRoleResp),
		call("lambda", "UpdateFunctionCode20150331v2", false).with(functionParam),
		call("iam", "ListAttachedRolePolicies", true).with(roleNameParam).globally().failing(0.6, "AccessDenied", msgIAMDenied),
		call("dynamodb", "DescribeTable", true),
		call("ec2", "DescribeSecurityGroups", true).failing(0.05, "Client.UnauthorizedOperation", msgEC2Denied),
		call("kms", "Decrypt", true).with(kmsParams),
	}
}

func ciCalls() []*apiCall {
	return []*apiCall{
		call("sts", "GetCallerIdentity", true),
		call("cloudformation", "DescribeStacks", true).with(stackName),
		call("s3", "PutObject", false).with(s3Object),
		call("ecr", "GetAuthorizationToken", true),
		call("ecr", "BatchCheckLayerAvailability", true),
		call("ecr", "PutImage", false),
		call("cloudformation", "CreateChangeSet", false).with(stackName),
		call("cloudformation", "DescribeChangeSet", true).with(stackName),
		call("cloudformation", "ExecuteChangeSet", false).with(stackName),
		call("ecs", "RegisterTaskDefinition", false),
		call("ecs", "UpdateService", false),
		call("lambda", "UpdateFunctionCode20150331v2", false).with(functionParam),
		call("iam", "PassRole", false).globally().failing(0.2, "AccessDenied", msgIAMDenied),
		call("ssm", "GetParameters", true).with(parameterName),
	}
}

func functionCalls() []*apiCall {
	return []*apiCall{
		call("kms", "Decrypt", true).with(kmsParams),
		call("s3", "GetObject", true).with(s3Object),
		call("kms", "GenerateDataKey", true).with(kmsParams),
		call("s3", "PutObject", false).with(s3Object),
		call("secretsmanager", "GetSecretValue", true).with(secretID),
		call("sqs", "GetQueueAttributes", true),
		call("logs", "CreateLogStream", false).with(logGroup),
		call("dynamodb", "DescribeTable", true).failing(0.03, "ThrottlingException", "Rate exceeded"),
	}
}

func instanceCalls(kind hostKind) []*apiCall {
	switch kind {
	case kindNode:
		return []*apiCall{
			call("ec2", "DescribeInstances", true).with(describeInstances),
			call("ecr", "GetAuthorizationToken", true),
			call("ec2", "DescribeNetworkInterfaces", true),
			call("autoscaling", "DescribeAutoScalingGroups", true),
			call("ec2", "AssignPrivateIpAddresses", false),
			call("ec2", "CreateNetworkInterface", false).failing(0.05, "Client.InsufficientFreeAddressesInSubnet", "There are not enough free addresses in subnet to satisfy the requested number of instances."),
			call("sts", "AssumeRoleWithWebIdentity", false),
		}
	case kindBuild:
		return []*apiCall{
			call("s3", "GetObject", true).with(s3Object),
			call("s3", "PutObject", false).with(s3Object),
			call("ecr", "GetAuthorizationToken", true),
			call("sts", "GetCallerIdentity", true),
			call("ssm", "GetParameter", true).with(parameterName),
			call("logs", "CreateLogStream", false).with(logGroup),
		}
	default:
		return []*apiCall{
			call("ssm", "UpdateInstanceInformation", false),
			call("s3", "GetObject", true).with(s3Object),
			call("secretsmanager", "GetSecretValue", true).with(secretID),
			call("kms", "Decrypt", true).with(kmsParams),
			call("ssm", "GetParameters", true).with(parameterName),
			call("logs", "CreateLogStream", false).with(logGroup),
		}
	}
}

func configCalls() []*apiCall {
	return []*apiCall{
		call("ec2", "DescribeInstances", true).with(describeInstances).everywhere(),
		call("ec2", "DescribeSecurityGroups", true).everywhere(),
		call("ec2", "DescribeVpcs", true).everywhere(),
		call("ec2", "DescribeSubnets", true).everywhere(),
		call("s3", "GetBucketAcl", true).with(s3Bucket),
		call("iam", "GetRole", true).with(roleNameParam).globally(),
		call("kms", "DescribeKey", true).everywhere(),
		call("lambda", "GetFunction20150331v2", true).with(functionParam),
		call("config", "PutEvaluations", false).everywhere(),
	}
}

// Browser and tool user agents.
var (
	agentsConsole = []string{
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
	}
	agentsCLI = []string{
		"aws-cli/2.17.4 md/awscrt#0.20.11 ua/2.0 os/macos#23.5.0 md/arch#arm64 lang/python#3.11.9 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off",
		"aws-cli/2.16.10 md/awscrt#0.20.11 ua/2.0 os/linux#6.5.0-1022-aws md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.22 md/prompt#off",
		"Boto3/1.34.131 md/Botocore#1.34.131 ua/2.0 os/linux#6.5.0-1022-aws md/arch#x86_64 lang/python#3.12.3 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.131",
	}
	agentsCI = []string{
		"aws-sdk-js/3.600.0 ua/2.1 os/linux#6.5.0-1022-azure lang/js md/nodejs#20.14.0 api/cloudformation#3.600.0",
		"APN/1.0 HashiCorp/1.0 Terraform/1.8.5 (+https://www.terraform.io) terraform-provider-aws/5.55.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.30.0 ua/2.0 os/linux lang/go#1.22.4 md/GOOS#linux md/GOARCH#amd64 api/sts#1.29.1",
		"docker/26.1.4 go/go1.21.11 git-commit/de5c9cf kernel/6.5.0-1022-azure os/linux arch/amd64 UpstreamClient(docker-buildx)",
	}
	agentsFunction = []string{
		"Boto3/1.34.126 md/Botocore#1.34.126 ua/2.0 os/linux#5.10.219-229.866.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.3 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.126",
	}
	agentsInstance = []string{
		"aws-sdk-go-v2/1.30.0 ua/2.0 os/linux lang/go#1.22.4 md/GOOS#linux md/GOARCH#amd64 api/ssm#1.52.0",
		"aws-sdk-java/2.25.60 Linux/5.10.219-208.866.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.11+9-LTS Java/17.0.11 vendor/Amazon.com_Inc. md/internal io/sync http/Apache cfg/retry-mode/legacy",
		"amazon-ssm-agent/3.3.484.0",
	}
	// agentAttacker is the attacker's tool: the CLI on a penetration
	// testing distribution, which GuardDuty recognizes.
	agentAttacker = "aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.6.9-amd64 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#kali.2024 md/prompt#off"
)

// addPrincipals creates the callers of an account. The first (production)
// account gets the full cast; the others a lighter one.
func (w *world) addPrincipals(r *rng, a *account, prod bool) {
	load := 1.0
	if !prod {
		load = 0.4
	}
	ids := func(prefix string) string { return prefix + r.str(17, upperDigits) }
	fromNet := func(n network) func(*rng, time.Time) string {
		return func(r *rng, _ time.Time) string { return r.ipIn(n.prefix) }
	}
	// Staff use a fixed office address by day and their home line after hours.
	officeOrHome := func(office, home string, utcOffset int) func(*rng, time.Time) string {
		return func(_ *rng, t time.Time) string {
			if h := t.Add(time.Duration(utcOffset) * time.Hour).Hour(); h >= 8 && h < 18 {
				return office
			}
			return home
		}
	}
	alice := &principal{kind: pIAMUser, name: "alice", principalID: ids("AIDA"), accessKey: "AKIA" + r.str(16, keyChars),
		rate: 30 * load, profile: func(t time.Time) float64 { return office(t, -8) },
		ip:     officeOrHome(r.ipIn(netOfficeUS.prefix), r.ipIn(netHomeUS.prefix), -8),
		agents: agentsCLI, console: 0.6, calls: zipf(adminCalls(), 1.1), homeShare: 0.8}
	bob := &principal{kind: pIAMUser, name: "bob", principalID: ids("AIDA"), accessKey: "AKIA" + r.str(16, keyChars),
		rate: 40 * load, profile: func(t time.Time) float64 { return office(t, 1) },
		ip: fromNet(netHomeDE), agents: agentsCLI, console: 0.15, calls: zipf(developerCalls(), 1.0), homeShare: 0.9}
	bobIP := r.ipIn(netHomeDE.prefix)
	bob.ip = func(*rng, time.Time) string { return bobIP }
	carol := &principal{kind: pRole, name: "AWSReservedSSO_AdministratorAccess_3a8f2c1d9e7b6a54", sessions: []string{"carol@example.com"},
		principalID: ids("AROA"), roleARN: "arn:aws:iam::" + a.id + ":role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_3a8f2c1d9e7b6a54",
		rate: 25 * load, profile: func(t time.Time) float64 { return office(t, 0) },
		ip: fromNet(netOfficeGB), agents: agentsConsole, console: 1, calls: zipf(adminCalls(), 0.9), homeShare: 0.7}
	ci := &principal{kind: pRole, name: "github-actions-deploy", sessions: []string{"GitHubActions"}, principalID: ids("AROA"),
		rate: 50 * load, profile: func(t time.Time) float64 { return 0.1 + office(t, -5) },
		ip: fromNet(netCI), agents: agentsCI, calls: zipf(ciCalls(), 0.8), homeShare: 0.95}
	fn := &principal{kind: pRole, name: "order-processor-role", sessions: []string{"order-processor", "thumbnail-resizer", "nightly-report"},
		principalID: ids("AROA"), rate: 60 * load, profile: traffic, agents: agentsFunction, calls: zipf(functionCalls(), 1.2), homeShare: 1}
	lambdaIP := awsNet(a.home)
	fn.ip = func(r *rng, _ time.Time) string { return r.ipIn(lambdaIP) }
	config := &principal{kind: pRole, name: "AWSServiceRoleForConfig", sessions: []string{"AWSConfig-Describe"}, principalID: ids("AROA"),
		roleARN:   "arn:aws:iam::" + a.id + ":role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig",
		invokedBy: "config.amazonaws.com", rate: 15 * load, profile: func(time.Time) float64 { return 1 },
		calls: zipf(configCalls(), 0.6), homeShare: 0.5}
	a.users = append(a.users, alice, bob, carol, ci, fn, config)
	roleIDs := map[string]string{}
	for _, h := range a.hosts {
		if h.instanceID == "" || h.role == "" {
			continue
		}
		if roleIDs[h.role] == "" {
			roleIDs[h.role] = ids("AROA")
		}
		rate := map[hostKind]float64{kindNode: 12, kindBuild: 10, kindApp: 8, kindWeb: 6, kindDB: 2, kindBastion: 1, kindDev: 5}[h.kind]
		profile := func(time.Time) float64 { return 1 }
		switch h.kind {
		case kindBuild, kindDev:
			profile = func(t time.Time) float64 { return 0.1 + office(t, -5) }
		case kindWeb, kindApp:
			profile = traffic
		}
		ip := a.vpc.natPublicIP
		if h.publicIP != "" {
			ip = h.publicIP
		}
		a.users = append(a.users, &principal{kind: pRole, name: h.role, sessions: []string{h.instanceID}, principalID: roleIDs[h.role],
			ec2Delivery: true, rate: rate * load, profile: profile, ip: func(*rng, time.Time) string { return ip },
			agents: agentsInstance, calls: zipf(instanceCalls(h.kind), 0.9), homeShare: 1})
	}
}

// ctRecord is one CloudTrail event, with its fields in CloudTrail's order.
type ctRecord struct {
	EventVersion        string      `json:"eventVersion"`
	UserIdentity        *ctIdentity `json:"userIdentity"`
	EventTime           string      `json:"eventTime"`
	EventSource         string      `json:"eventSource"`
	EventName           string      `json:"eventName"`
	AWSRegion           string      `json:"awsRegion"`
	SourceIPAddress     string      `json:"sourceIPAddress"`
	UserAgent           string      `json:"userAgent"`
	ErrorCode           string      `json:"errorCode,omitempty"`
	ErrorMessage        string      `json:"errorMessage,omitempty"`
	RequestParameters   any         `json:"requestParameters"`
	ResponseElements    any         `json:"responseElements"`
	AdditionalEventData any         `json:"additionalEventData,omitempty"`
	RequestID           string      `json:"requestID"`
	EventID             string      `json:"eventID"`
	ReadOnly            bool        `json:"readOnly"`
	Resources           []ctRes     `json:"resources,omitempty"`
	EventType           string      `json:"eventType"`
	ManagementEvent     bool        `json:"managementEvent"`
	RecipientAccountID  string      `json:"recipientAccountId"`
	EventCategory       string      `json:"eventCategory"`
	TLSDetails          *ctTLS      `json:"tlsDetails,omitempty"`
	FromConsole         string      `json:"sessionCredentialFromConsole,omitempty"`
}

type ctIdentity struct {
	Type           string     `json:"type"`
	PrincipalID    string     `json:"principalId,omitempty"`
	ARN            string     `json:"arn,omitempty"`
	AccountID      string     `json:"accountId,omitempty"`
	AccessKeyID    string     `json:"accessKeyId,omitempty"`
	UserName       string     `json:"userName,omitempty"`
	SessionContext *ctSession `json:"sessionContext,omitempty"`
	InvokedBy      string     `json:"invokedBy,omitempty"`
}

type ctSession struct {
	SessionIssuer   *ctIssuer      `json:"sessionIssuer,omitempty"`
	WebIDFederation map[string]any `json:"webIdFederationData,omitempty"`
	Attributes      ctAttributes   `json:"attributes"`
	EC2RoleDelivery string         `json:"ec2RoleDelivery,omitempty"`
}

type ctIssuer struct {
	Type        string `json:"type"`
	PrincipalID string `json:"principalId"`
	ARN         string `json:"arn"`
	AccountID   string `json:"accountId"`
	UserName    string `json:"userName"`
}

type ctAttributes struct {
	CreationDate     string `json:"creationDate"`
	MFAAuthenticated string `json:"mfaAuthenticated"`
}

type ctRes struct {
	AccountID string `json:"accountId,omitempty"`
	Type      string `json:"type"`
	ARN       string `json:"ARN"`
}

type ctTLS struct {
	TLSVersion string `json:"tlsVersion"`
	Cipher     string `json:"cipherSuite"`
	Host       string `json:"clientProvidedHostHeader"`
}

// ctEvent is a record with its time, for sorting and filing.
type ctEvent struct {
	t       time.Time
	account *account
	rec     *ctRecord
}

// identity builds the userIdentity of a principal for one call.
func (p *principal) identity(r *rng, a *account, session string, t time.Time, console bool) (*ctIdentity, string) {
	created := t.Add(-time.Duration(r.IntN(3000)) * time.Second).UTC().Format(time.RFC3339)
	switch p.kind {
	case pIAMUser:
		id := &ctIdentity{Type: "IAMUser", PrincipalID: p.principalID, ARN: "arn:aws:iam::" + a.id + ":user/" + p.name,
			AccountID: a.id, AccessKeyID: p.accessKey, UserName: p.name}
		if console {
			id.AccessKeyID = "ASIA" + r.str(16, keyChars)
			id.SessionContext = &ctSession{Attributes: ctAttributes{CreationDate: created, MFAAuthenticated: "true"}}
		}
		return id, id.ARN
	case pRoot:
		id := &ctIdentity{Type: "Root", PrincipalID: a.id, ARN: "arn:aws:iam::" + a.id + ":root", AccountID: a.id,
			AccessKeyID:    "ASIA" + r.str(16, keyChars),
			SessionContext: &ctSession{Attributes: ctAttributes{CreationDate: created, MFAAuthenticated: "false"}}}
		return id, id.ARN
	case pService:
		return &ctIdentity{Type: "AWSService", InvokedBy: p.invokedBy}, p.invokedBy
	}
	roleARN := p.roleARN
	if roleARN == "" {
		roleARN = "arn:aws:iam::" + a.id + ":role/" + p.name
	}
	arn := "arn:aws:sts::" + a.id + ":assumed-role/" + p.name + "/" + session
	id := &ctIdentity{Type: "AssumedRole", PrincipalID: p.principalID + ":" + session, ARN: arn, AccountID: a.id,
		AccessKeyID: "ASIA" + r.str(16, keyChars), InvokedBy: p.invokedBy,
		SessionContext: &ctSession{
			SessionIssuer:   &ctIssuer{Type: "Role", PrincipalID: p.principalID, ARN: roleARN, AccountID: a.id, UserName: p.name},
			WebIDFederation: map[string]any{},
			Attributes:      ctAttributes{CreationDate: created, MFAAuthenticated: "false"},
		}}
	if p.ec2Delivery {
		id.SessionContext.EC2RoleDelivery = "2.0"
	}
	return id, arn
}

// event builds one CloudTrail record of principal p calling c at t.
func (w *world) ctEvent(r *rng, a *account, p *principal, c *apiCall, t time.Time) *ctRecord {
	region := a.home
	switch {
	case c.global:
		region = "us-east-1"
	case c.anyRegion || !r.chance(p.homeShare):
		region = pick(r, w.regions)
	}
	console := r.chance(p.console)
	session := ""
	if len(p.sessions) > 0 {
		session = pick(r, p.sessions)
	}
	ident, arn := p.identity(r, a, session, t, console)
	ip, agent := "", ""
	switch {
	case p.invokedBy != "":
		ip, agent = p.invokedBy, p.invokedBy
	default:
		ip = p.ip(r, t)
		if console {
			agent = pick(r, agentsConsole)
		} else {
			agent = pick(r, p.agents)
		}
	}
	ctx := &callCtx{r: r, a: a, p: p, region: region, t: t}
	rec := &ctRecord{
		EventVersion: "1.09", UserIdentity: ident, EventTime: t.UTC().Format(time.RFC3339),
		EventSource: c.source, EventName: c.name, AWSRegion: region, SourceIPAddress: ip, UserAgent: agent,
		RequestID: r.uuid(), EventID: r.uuid(), ReadOnly: c.readOnly, EventType: "AwsApiCall",
		ManagementEvent: true, RecipientAccountID: a.id, EventCategory: "Management",
	}
	if c.eventType != "" {
		rec.EventType = c.eventType
	}
	if c.params != nil {
		rec.RequestParameters = c.params(ctx)
	}
	if r.chance(c.fail) {
		rec.ErrorCode = c.errCode
		if c.errMsg != "" {
			action := strings.TrimSuffix(c.source, ".amazonaws.com") + ":" + c.name
			if strings.Contains(c.errMsg, "%") {
				rec.ErrorMessage = fmt.Sprintf(c.errMsg, arn, action)
			} else {
				rec.ErrorMessage = c.errMsg
			}
		}
	} else if c.resp != nil {
		rec.ResponseElements = c.resp(ctx)
	}
	if c.source == "s3.amazonaws.com" {
		if m, ok := rec.RequestParameters.(map[string]any); ok && m["key"] != nil {
			rec.data(a, m)
		}
	}
	if console {
		rec.FromConsole = "true"
	}
	if !strings.Contains(ip, ".amazonaws.com") {
		host := strings.TrimSuffix(c.source, ".amazonaws.com") + "." + region + ".amazonaws.com"
		if c.global && c.source == "iam.amazonaws.com" {
			host = "iam.amazonaws.com"
		}
		rec.TLSDetails = &ctTLS{TLSVersion: "TLSv1.3", Cipher: "TLS_AES_128_GCM_SHA256", Host: host}
	}
	return rec
}

// data makes an S3 object call a data event.
func (rec *ctRecord) data(a *account, m map[string]any) {
	rec.ManagementEvent = false
	rec.EventCategory = "Data"
	b, k := m["bucketName"].(string), m["key"].(string)
	rec.Resources = []ctRes{{Type: "AWS::S3::Object", ARN: "arn:aws:s3:::" + b + "/" + k}, {AccountID: a.id, Type: "AWS::S3::Bucket", ARN: "arn:aws:s3:::" + b}}
	rec.AdditionalEventData = map[string]any{"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "AuthenticationMethod": "AuthHeader"}
}

// genCloudTrail writes the CloudTrail objects: one per account, region and
// hour, AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<time>_<id>.json.gz.
func genCloudTrail(w *world, out *output) error {
	r := newRNG(w.seed, "cloudtrail")
	var events []ctEvent
	w.window(func(from, to time.Time) {
		span := fraction(from, to)
		for _, a := range w.accounts {
			for _, p := range a.users {
				mid := from.Add(to.Sub(from) / 2)
				n := r.poisson(p.rate * p.profile(mid) * span * w.scale)
				for range n {
					t := r.at(from, to)
					events = append(events, ctEvent{t, a, w.ctEvent(r, a, p, p.calls.pick(r), t)})
				}
			}
			events = append(events, w.ctHourly(r, a, from, to)...)
		}
	})
	events = append(events, w.rootSession(r)...)
	events = append(events, w.story.cloudTrail(w)...)
	events = w.story.loggingGap(events)
	sort.SliceStable(events, func(i, j int) bool { return events[i].t.Before(events[j].t) })

	type fileKey struct {
		account, region string
		hour            time.Time
	}
	files := map[fileKey][]*ctRecord{}
	var keys []fileKey
	for _, e := range events {
		k := fileKey{e.account.id, e.rec.AWSRegion, e.t.Truncate(time.Hour)}
		if files[k] == nil {
			keys = append(keys, k)
		}
		files[k] = append(files[k], e.rec)
	}
	sort.Slice(keys, func(i, j int) bool {
		if !keys[i].hour.Equal(keys[j].hour) {
			return keys[i].hour.Before(keys[j].hour)
		}
		if keys[i].account != keys[j].account {
			return keys[i].account < keys[j].account
		}
		return keys[i].region < keys[j].region
	})
	for _, k := range keys {
		recs := files[k]
		body, err := json.Marshal(struct {
			Records []*ctRecord `json:"Records"`
		}{recs})
		if err != nil {
			return fmt.Errorf("encoding CloudTrail records: %w", err)
		}
		stamp := k.hour.Add(time.Hour - 5*time.Minute)
		if stamp.After(w.end) {
			stamp = w.end
		}
		key := fmt.Sprintf("AWSLogs/%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_%s.json.gz",
			k.account, k.region, k.hour.Format("2006/01/02"), k.account, k.region, stamp.Format("20060102T1504Z"), r.str(16, alnumChars))
		if err := out.write("cloudtrail", key, body, len(recs)); err != nil {
			return err
		}
	}
	return nil
}

// ctHourly adds the calls that are not drawn from a catalog: console
// sign-ins of the staff and instance credentials delivered by EC2.
func (w *world) ctHourly(r *rng, a *account, from, to time.Time) []ctEvent {
	var out []ctEvent
	if fraction(from, to) < 0.5 {
		return nil
	}
	for _, p := range a.users {
		if p.console == 0 || !r.chance(0.3*p.profile(from)) {
			continue
		}
		t := r.at(from, to)
		out = append(out, ctEvent{t, a, w.consoleLogin(r, a, p, t, r.chance(0.08))})
	}
	ec2 := &principal{kind: pService, invokedBy: "ec2.amazonaws.com"}
	for _, h := range a.hosts {
		if h.instanceID == "" || h.role == "" || !r.chance(0.35*w.scale) {
			continue
		}
		t := r.at(from, to)
		c := call("sts", "AssumeRole", false)
		rec := w.ctEvent(r, a, ec2, c, t)
		rec.RequestParameters = map[string]any{"roleArn": "arn:aws:iam::" + a.id + ":role/" + h.role, "roleSessionName": h.instanceID}
		rec.AWSRegion = a.home
		rec.Resources = []ctRes{{AccountID: a.id, Type: "AWS::IAM::Role", ARN: "arn:aws:iam::" + a.id + ":role/" + h.role}}
		rec.ResponseElements = map[string]any{"credentials": map[string]any{"accessKeyId": "ASIA" + r.str(16, keyChars),
			"expiration": t.Add(6 * time.Hour).UTC().Format("Jan 2, 2006, 3:04:05 PM")}}
		out = append(out, ctEvent{t, a, rec})
	}
	return out
}

// consoleLogin is a sign-in to the AWS console, failed or not.
func (w *world) consoleLogin(r *rng, a *account, p *principal, t time.Time, failed bool) *ctRecord {
	c := &apiCall{source: "signin.amazonaws.com", name: "ConsoleLogin", global: true, eventType: "AwsConsoleSignIn"}
	rec := w.ctEvent(r, a, p, c, t)
	rec.UserIdentity.AccessKeyID = ""
	rec.UserAgent = pick(r, agentsConsole)
	rec.FromConsole = ""
	rec.TLSDetails = nil
	result, mfa := "Success", "Yes"
	if p.kind == pRoot || p.name == "bob" {
		mfa = "No"
	}
	if failed {
		result = "Failure"
		rec.ErrorMessage = "Failed authentication"
	}
	rec.ResponseElements = map[string]any{"ConsoleLogin": result}
	rec.AdditionalEventData = map[string]any{"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": mfa}
	return rec
}

// rootSession is the production root user's one console session of the
// week (which GuardDuty reports).
func (w *world) rootSession(r *rng) []ctEvent {
	a := w.accounts[0]
	at := w.rootSignIn()
	if at.Before(w.start) || !at.Before(w.end) {
		return nil
	}
	ip := w.rootIP()
	root := &principal{kind: pRoot, name: "root", ip: func(*rng, time.Time) string { return ip }, agents: agentsConsole, console: 1, homeShare: 1}
	out := []ctEvent{{at, a, w.consoleLogin(r, a, root, at, false)}}
	for i, c := range []*apiCall{call("iam", "GetAccountSummary", true).globally(), call("account", "GetContactInformation", true).globally(),
		call("billing", "GetBillingPreferences", true).globally(), call("iam", "ListMFADevices", true).globally()} {
		t := at.Add(time.Duration(40+i*95) * time.Second)
		out = append(out, ctEvent{t, a, w.ctEvent(r, a, root, c, t)})
	}
	return out
}
