// Package cloudtrail holds what is particular to CloudTrail documents: the
// event outcome, the user name from ARNs, the instance id of SSM, STS and
// CloudHSM calls, and fixes of fields whose type varies between events
// (which would otherwise break an index mapping).
package cloudtrail

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/valyala/fastjson"

	"github.com/vigil-siem/vigil/internal/normalize"
)

// instanceRe finds an EC2 instance id at the start of an SSM resource id.
var instanceRe = regexp.MustCompile(`^(\W|_|^)(i-([0-9a-z]{8}|[0-9a-z]{17}))(\W|_|$)`)

// Script is the cloudtrail transform.
type Script struct{}

// Paths lists the record fields the transform reads.
func (Script) Paths() []string {
	return []string{
		"errorCode", "errorMessage", "eventSource", "eventName", "userAgent",
		"requestParameters", "requestParameters.target", "requestParameters.resourceId",
		"requestParameters.roleSessionName", "requestParameters.clusterId",
		"responseElements.hsmId", "responseElements.hsm.hsmId", "responseElements.credentials",
		"requestParameters.tags", "responseElements.policy",
		"requestParameters.disableApiTermination", "requestParameters.disableApiStop",
		"responseElements.status", "requestParameters.configuration", "responseElements.session",
		"requestParameters.command", "requestParameters.parameters", "responseElements.database",
		"requestParameters.settings", "requestParameters.items", "requestParameters.accountIds",
		"requestParameters.ReplicationConfiguration.Rule", "responseElements.tableMetadata.parameters",
	}
}

// Transform adds the CloudTrail-specific fields.
func (Script) Transform(d *normalize.Doc) error {
	ov := d.ECS
	if d.Has("errorCode") || d.Has("errorMessage") {
		ov.SetString("event.outcome", "failure")
	} else {
		ov.SetString("event.outcome", "success")
	}
	if name := ov.View("user.name"); strings.Contains(name, ":") {
		name = name[strings.LastIndexByte(name, ':')+1:]
		name = name[strings.LastIndexByte(name, '/')+1:]
		ov.SetString("user.name", name)
	}

	source := d.View("eventSource")
	eventName := d.View("eventName")
	rpObj := d.Kind("requestParameters") == normalize.KindObject
	var instanceID string
	switch source {
	case "ssm.amazonaws.com":
		switch {
		case (eventName == "StartSession" || eventName == "GetConnectionStatus") && rpObj:
			instanceID = d.View("requestParameters.target")
		case eventName == "PutComplianceItems" && rpObj:
			if id := d.View("requestParameters.resourceId"); instanceRe.MatchString(id) {
				instanceID = id
			}
		}
	case "sts.amazonaws.com":
		if d.View("userAgent") == "ec2.amazonaws.com" && rpObj {
			instanceID = d.View("requestParameters.roleSessionName")
		}
	case "cloudhsm.amazonaws.com":
		var hosts []string
		if rpObj {
			if c := d.View("requestParameters.clusterId"); c != "" {
				hosts = append(hosts, c)
			}
		}
		hsm := d.View("responseElements.hsmId")
		if hsm == "" {
			hsm = d.View("responseElements.hsm.hsmId")
		}
		if hsm != "" {
			ov.SetString("cloud.instance.id", hsm)
			hosts = append(hosts, hsm)
		}
		ov.Delete("related")
		if len(hosts) > 0 {
			ov.SetStrings("related.hosts", hosts)
		}
	}
	if instanceID != "" {
		ov.Delete("cloud.instance")
		ov.SetString("cloud.instance.id", instanceID)
	}

	if d.Kind("responseElements.credentials") == normalize.KindString {
		s := d.View("responseElements.credentials")
		if strings.Contains(s, "arn:aws:iam") || strings.Contains(s, "arn:aws-cn:iam") || strings.Contains(s, "arn:aws-us-gov:iam") {
			ov.SetString("responseElements.credentials.iam", s)
		} else {
			ov.SetString("responseElements.credentials.value", s)
		}
	}
	textToObject(d, "requestParameters.tags")
	textToObject(d, "responseElements.policy")
	for _, p := range []string{"requestParameters.disableApiTermination", "requestParameters.disableApiStop"} {
		if d.Kind(p) != normalize.KindObject {
			continue
		}
		if v := d.Get(p); v != nil && v.Type() == fastjson.TypeObject {
			if inner := v.Get("value"); inner != nil {
				ov.SetRaw(p, inner.MarshalTo(nil))
			}
		}
	}
	wrapString(d, "responseElements.status", "status")

	switch source {
	case "athena.amazonaws.com":
		// Keys with dots inside clash with the object of the same prefix.
		renameKey(d, "responseElements.tableMetadata.parameters", "projection.part_date.interval.unit", "projection.part_date.interval_unit")
	case "glue.amazonaws.com":
		wrapString(d, "requestParameters.configuration", "text")
	case "cognito-idp.amazonaws.com":
		wrapString(d, "responseElements.session", "value")
	case "ecs.amazonaws.com":
		wrapString(d, "requestParameters.command", "command")
	case "ssm.amazonaws.com", "sqlworkbench.amazonaws.com":
		wrapString(d, "requestParameters.parameters", "value")
	case "redshift-data.amazonaws.com":
		wrapString(d, "responseElements.database", "name")
	case "cloud9.amazonaws.com":
		wrapString(d, "requestParameters.settings", "value")
	case "dynamodb.amazonaws.com":
		textToObject(d, "requestParameters.items")
	case "codeguru-security.amazonaws.com":
		if v := d.Get("requestParameters.resourceId"); v != nil && v.Type() == fastjson.TypeObject {
			ov.SetString("requestParameters.resourceId", normalize.PyRepr(v))
		}
	case "inspector2.amazonaws.com":
		if v := d.Get("requestParameters.accountIds"); v != nil && v.Type() == fastjson.TypeArray {
			if a, _ := v.Array(); len(a) > 0 && a[0].Type() == fastjson.TypeObject {
				ov.SetString("requestParameters.accountIds", normalize.PyRepr(v))
			}
		}
	case "s3.amazonaws.com":
		if rules := d.Get("requestParameters.ReplicationConfiguration.Rule"); rules != nil && rules.Type() == fastjson.TypeArray {
			a, _ := rules.Array()
			for i, r := range a {
				if f := r.Get("Filter"); f != nil && f.Type() == fastjson.TypeObject {
					ov.SetString("requestParameters.ReplicationConfiguration.Rule."+strconv.Itoa(i)+".Filter", normalize.PyRepr(f))
				}
			}
		}
	}
	return nil
}

// wrapString turns a non-empty string at path into {key: string}.
func wrapString(d *normalize.Doc, path, key string) {
	if d.Kind(path) == normalize.KindString {
		if s := d.View(path); s != "" {
			d.ECS.SetString(path+"."+key, s)
		}
	}
}

// textToObject gives a field that is sometimes text and sometimes an object
// one shape: an object.
func textToObject(d *normalize.Doc, path string) {
	switch d.Kind(path) {
	case normalize.KindMissing, normalize.KindObject, normalize.KindNull:
		return
	}
	v := d.Get(path)
	if v == nil {
		return
	}
	switch v.Type() {
	case fastjson.TypeObject, fastjson.TypeNull:
	case fastjson.TypeString:
		d.ECS.SetString(path+".value", string(v.GetStringBytes()))
	case fastjson.TypeArray:
		a, _ := v.Array()
		switch {
		case len(a) == 0:
			d.ECS.SetRaw(path, []byte("{}"))
		case a[0].Type() == fastjson.TypeString:
			d.ECS.SetRaw(path+".value", v.MarshalTo(nil))
		}
	default:
		d.ECS.SetString(path+".value", normalize.PyRepr(v))
	}
}

// renameKey renames a key of the object at path. The key contains dots,
// so it is addressed through the object rather than by a dotted path.
func renameKey(d *normalize.Doc, path, from, to string) {
	o := d.Get(path)
	if o == nil || o.Type() != fastjson.TypeObject {
		return
	}
	if v := o.Get(from); v != nil {
		d.ECS.DeleteKey(path, from)
		d.ECS.SetKey(path, to, v.MarshalTo(nil))
	}
}
