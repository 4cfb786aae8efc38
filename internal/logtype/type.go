package logtype

import (
	"regexp"
	"strings"
	"time"
)

// Rotation says how the date suffix of an index name is formed.
type Rotation string

// Index rotations accepted in index_rotation.
const (
	// RotationDaily appends "-2006-01-02".
	RotationDaily Rotation = "daily"
	// RotationWeekly appends "-YYYY-wWW" where WW is the week of the year
	// with weeks starting on Monday and days before the first Monday in
	// week 00 (strftime %W, which is what es-loader really uses).
	RotationWeekly Rotation = "weekly"
	// RotationMonthly appends "-2006-01".
	RotationMonthly Rotation = "monthly"
	// RotationYearly appends "-2006".
	RotationYearly Rotation = "yearly"
	// RotationAuto appends nothing: the index name is a write alias that
	// Index State Management rolls over.
	RotationAuto Rotation = "auto"
)

// TimeFormatKind classifies a timestamp_format value.
type TimeFormatKind int

// Kinds of timestamp_format, decided as es-loader does: by the first of the
// words "epoch", "syslog" and "iso8601" that the value contains, else a
// strftime layout.
const (
	// TimeFormatNone means the value is empty.
	TimeFormatNone TimeFormatKind = iota
	// TimeFormatEpoch is seconds since 1970, or milliseconds when the
	// number is above 1e12, or microseconds above 1e15.
	TimeFormatEpoch
	// TimeFormatSyslog is the RFC 3164 "Jan _2 15:04:05" form.
	TimeFormatSyslog
	// TimeFormatISO8601 is what Python's fromisoformat and dateutil accept.
	TimeFormatISO8601
	// TimeFormatStrftime is a Python strptime layout held in Layout.
	TimeFormatStrftime
)

// String returns the kind's name.
func (k TimeFormatKind) String() string {
	switch k {
	case TimeFormatEpoch:
		return "epoch"
	case TimeFormatSyslog:
		return "syslog"
	case TimeFormatISO8601:
		return "iso8601"
	case TimeFormatStrftime:
		return "strftime"
	default:
		return "none"
	}
}

// TimeFormat is one parsed timestamp_format value.
type TimeFormat struct {
	Kind   TimeFormatKind // how to parse
	Layout string         // the value as written; for TimeFormatStrftime, the strptime layout
}

// ParseTimeFormat classifies a timestamp_format value the way es-loader
// does (substring tests, in the order epoch, syslog, iso8601), so that a
// quoted value such as `"epoch"` is still epoch.
func ParseTimeFormat(v string) TimeFormat {
	switch {
	case v == "":
		return TimeFormat{Kind: TimeFormatNone}
	case strings.Contains(v, "epoch"):
		return TimeFormat{Kind: TimeFormatEpoch, Layout: v}
	case strings.Contains(v, "syslog"):
		return TimeFormat{Kind: TimeFormatSyslog, Layout: v}
	case strings.Contains(v, "iso8601"):
		return TimeFormat{Kind: TimeFormatISO8601, Layout: v}
	default:
		return TimeFormat{Kind: TimeFormatStrftime, Layout: v}
	}
}

// ECSField is one entry of a type's ecs list: the ECS field to fill and
// where in the original record its value comes from.
type ECSField struct {
	// Name is the dotted ECS field name, e.g. "source.ip".
	Name string
	// Sources are the dotted paths into the original record (a numeric
	// element indexes a list, e.g. "answers.0.Rdata"), with "${...}"
	// already resolved.
	//
	// When List is false, Sources are alternatives: the first path whose
	// value is present (not missing, not null, not "") gives the field's
	// value, whatever its type.
	//
	// When List is true, every source contributes: a string value is
	// appended, a list value is appended element by element; the result
	// is de-duplicated and sorted. An element of Sources may itself hold
	// several space-separated alternative paths (es-loader's
	// "[a b, c]" means "first of a/b" plus "c"); use Candidates.
	Sources []string
	// List is true for the ECS fields es-loader treats as lists
	// (related.ip, event.category, ...; see IsListField). It depends on
	// the field name, not on whether the value is written as "[a, b]".
	List bool
}

// Candidates returns the alternative paths of Sources[i] (split on white
// space). For a non-list field every element is already a single path.
func (f ECSField) Candidates(i int) []string { return strings.Fields(f.Sources[i]) }

// StaticField is one entry of a type's static_ecs list: an ECS field set to
// a constant.
type StaticField struct {
	// Name is the dotted ECS field name.
	Name string
	// Value is the constant as written (resolved), used when List is false.
	Value string
	// List is true for fields es-loader treats as lists (IsListField);
	// then Values holds the parsed elements and the field is set to that
	// list, e.g. "event.category = network" gives ["network"].
	List bool
	// Values are the list elements when List is true.
	Values []string
}

// RenamedField is one entry of renamed_newfields: the original record's
// field Old is moved to New before anything else looks at the record.
type RenamedField struct {
	New string // new top-level field name
	Old string // original top-level field name
}

// Type is one log type (one INI section) with every setting parsed. A Type
// is immutable once the Registry is built and may be shared between
// goroutines; do not modify it.
type Type struct {
	// Name is the section name, e.g. "cloudtrail"; it becomes @log_type.
	Name string

	// S3Key is searched (unanchored) in an object key to detect the type.
	S3Key *regexp.Regexp
	// S3KeyIgnored, when not nil and found in a key that S3Key detected,
	// makes the object ignored; nil when s3_key_ignored is empty.
	S3KeyIgnored *regexp.Regexp
	// LogGroup is loggroup (a CloudWatch Logs group hint; unused by es-loader).
	LogGroup string
	// ViaCWL is via_cwl: objects hold CloudWatch Logs subscription data.
	ViaCWL bool
	// ViaFirelens is via_firelens: records come from FireLens with ECS metadata.
	ViaFirelens bool
	// IgnoreContainerStderr is ignore_container_stderr: drop FireLens stderr records.
	IgnoreContainerStderr bool

	// FileFormat is file_format: "", text, json, csv, multiline, cef,
	// parquet, winevtxml or xml. Empty means the type cannot be loaded (see
	// Incomplete).
	FileFormat string
	// JSONDelimiter is json_delimiter: the field holding the array of
	// records in a JSON document (e.g. "Records"); empty for NDJSON/one object.
	JSONDelimiter string
	// TextHeaderLineNumber is text_header_line_number: leading lines to skip.
	TextHeaderLineNumber int
	// CSVDelimiter is csv_delimiter; empty means split on runs of white space.
	CSVDelimiter string
	// MultilineFirstline is multiline_firstline: matches (at the start, as
	// Python re.match) the first line of a multi-line record; for
	// file_format xml it is xml_firstline, as in es-loader. nil if empty.
	MultilineFirstline *regexp.Regexp
	// XMLFirstline is xml_firstline as written; nil if empty.
	XMLFirstline *regexp.Regexp
	// LogPattern is log_pattern: its named groups become the record's
	// fields for text and multiline formats; nil if empty.
	LogPattern *regexp.Regexp
	// FileTimestampFormat is file_timestamp_format: named groups year,
	// month, day, hour, minute, second, microsecond searched in the object
	// key give the "file_timestamp"; nil if empty.
	FileTimestampFormat *regexp.Regexp
	// MaxLogCount is max_log_count: above this many records an object is
	// split into pieces.
	MaxLogCount int
	// RetentionDays is retention_days (a Vigil key): the days this type's
	// documents are kept before vigil retention and the OpenSearch ISM
	// policies delete them; 0 leaves that to the command line.
	RetentionDays int

	// IndexName is index_name: the index (or alias) prefix, e.g.
	// "log-aws-cloudtrail". Empty means the type cannot be loaded.
	IndexName string
	// IndexSuffix is index_suffix, appended as "-<suffix>" before the date.
	IndexSuffix string
	// IndexRotation is index_rotation.
	IndexRotation Rotation
	// IndexTime is index_time: "@timestamp" (event time) or
	// "event_ingested" (receive time) chooses the date of the index name.
	IndexTime string
	// IndexTZ is index_tz: the zone in which the index date is computed;
	// nil when index_tz is empty (the timestamp's own zone is used).
	IndexTZ *time.Location

	// DocID is doc_id: a top-level field of the original record used as
	// @id; empty means @id is an MD5 of the raw record (and origin).
	DocID string
	// DocIDSuffix is doc_id_suffix: a dotted path whose value, when
	// present, is appended to @id as "<id>_<value>" to form _id.
	DocIDSuffix string

	// TimestampKey is timestamp_key: the dotted path of the event time;
	// the special names cwe_timestamp, cwl_timestamp and file_timestamp
	// mean the EventBridge time, the CloudWatch Logs time and the time in
	// the object key.
	TimestampKey string
	// TimestampKeyList is timestamp_key_list split on white space: when
	// set it replaces TimestampKey and the first present key wins.
	TimestampKeyList []string
	// TimestampFormat is timestamp_format.
	TimestampFormat TimeFormat
	// TimestampFormatList is timestamp_format_list (a JSON list of
	// strings): when set it replaces TimestampFormat and the first format
	// that parses wins.
	TimestampFormatList []TimeFormat
	// TimestampTZ is timestamp_tz: the zone assumed for times without one.
	TimestampTZ *time.Location
	// TimestampNano is timestamp_nano: the time may carry nanoseconds,
	// which are truncated to microseconds.
	TimestampNano bool

	// ECSVersion is ecs_version, written to ecs.version.
	ECSVersion string
	// CloudProvider is cloud_provider, written to cloud.provider unless
	// the record has one.
	CloudProvider string
	// FieldPrefix is field_prefix: when set, the record's original
	// top-level fields are moved under this field.
	FieldPrefix string
	// RenamedNewFields are renamed_newfields with their mapping keys, in
	// list order.
	RenamedNewFields []RenamedField
	// JSONToText is json_to_text split on white space: dotted paths whose
	// values are turned into strings (objects as Python repr).
	JSONToText []string
	// ECS is the ecs list with each field's mapping, in list order.
	ECS []ECSField
	// StaticECS is the static_ecs list with each field's constant, in list order.
	StaticECS []StaticField
	// ScriptECS is script_ecs split on white space; when not empty the
	// type's transform script runs after ECS mapping.
	ScriptECS []string

	// ClientIPXFF is clientip_xff: empty, or exactly [client-ip field,
	// X-Forwarded-For field] (ECS dotted names).
	ClientIPXFF []string
	// GeoIP is geoip split on white space: top-level ECS objects (e.g.
	// "source") whose "ip" gets geo and as enrichment.
	GeoIP []string
	// IOCIP is ioc_ip: dotted fields whose IP values are matched against
	// threat intelligence.
	IOCIP []string
	// IOCDomain is ioc_domain: dotted fields whose domain values are
	// matched against threat intelligence.
	IOCDomain []string
	// UserAgentField is user_agent_enrichment_field: the top-level ECS
	// object (e.g. "user_agent") whose "original" is parsed.
	UserAgentField string

	// Raw holds every key visible in the section (own and DEFAULT) with
	// "${...}" resolved, for settings not typed above.
	Raw map[string]string
}

// Incomplete returns a non-empty reason when the type lacks file_format or
// index_name, in which case es-loader refuses to load its objects (a
// "critical" skip) although detection still selects it.
func (t *Type) Incomplete() string {
	switch {
	case t.FileFormat == "":
		return "file_format is not set for " + t.Name
	case t.IndexName == "":
		return "index_name is not set for " + t.Name
	}
	return ""
}

// IsListField reports whether es-loader treats the value of this key as a
// list: a value starting with '[' is split on commas (brackets stripped),
// any other on white space. It is true for the list-valued ECS fields
// (related.ip, event.category, ...) and for the ecs, static_ecs,
// renamed_newfields, clientip_xff, ioc_ip and ioc_domain settings.
func IsListField(key string) bool {
	switch key {
	case "base.tags", "clientip_xff", "container.image.tag",
		"dns.answers", "dns.header_flags", "dns.resolved_ip", "dns.type",
		"ecs", "static_ecs",
		"event.category", "event.type", "file.attributes",
		"host.ip", "host.mac",
		"ioc_domain", "ioc_ip",
		"observer.ip", "observer.mac",
		"process.args", "registry.data.strings",
		"related.hash", "related.hosts", "related.ip", "related.user",
		"renamed_newfields",
		"rule.author",
		"threat.tactic.id", "threat.tactic.name", "threat.tactic.reference",
		"threat.technique.id", "threat.technique.name", "threat.technique.reference",
		"threat.technique.subtechnique.id", "threat.technique.subtechnique.name",
		"threat.technique.subtechnique.reference",
		"tls.client.certificate_chain", "tls.client.supported_ciphers",
		"tls.server.certificate_chain",
		"user.roles", "vulnerability.category",
		"x509.alternative_names",
		"x509.issuer.country", "x509.issuer.locality", "x509.issuer.organization",
		"x509.issuer.organizational_unit", "x509.issuer.state_or_province",
		"x509.subject.common_name", "x509.subject.country", "x509.subject.locality",
		"x509.subject.organization", "x509.subject.organizational_unit",
		"x509.subject.state_or_province":
		return true
	}
	return false
}

// splitList parses a list-valued setting as es-loader does: "[a, b]" (any
// leading/trailing '[', '|', ']' removed) splits on commas, anything else
// on white space. Elements are trimmed; empty ones are dropped.
func splitList(v string) []string {
	if !strings.HasPrefix(v, "[") {
		return fields(v)
	}
	v = strings.Trim(v, "[|]")
	var out []string
	for _, e := range strings.Split(v, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// fields splits on white space; no fields gives nil.
func fields(v string) []string {
	f := strings.Fields(v)
	if len(f) == 0 {
		return nil
	}
	return f
}
