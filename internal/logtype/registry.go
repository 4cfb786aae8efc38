// Package logtype is the registry of log types: it reads the built-in
// definitions (builtin.ini, with aws.ini semantics) and the user's INI
// overrides, parses every setting of every type into a Type, and detects
// the type of an S3 object from its key the way es-loader does.
//
// The registry is built once and is read-only afterwards; all its methods
// are safe for concurrent use.
package logtype

import (
	_ "embed" // for the built-in definitions
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-siem/vigil/internal/config"
)

//go:embed builtin.ini
var builtinINI string

// BuiltinName is the file name used for the built-in definitions in error
// messages.
const BuiltinName = "builtin.ini"

// BuiltinINI returns the text of the built-in definitions.
func BuiltinINI() string { return builtinINI }

// DetectResult says what Detect concluded about an object key.
type DetectResult int

// Outcomes of Detect.
const (
	// Unknown means no type's s3_key matched the key.
	Unknown DetectResult = iota
	// Matched means a type was detected and the object should be loaded.
	Matched
	// Ignored means a type was detected but its s3_key_ignored also
	// matched: the object is deliberately skipped.
	Ignored
	// NoData means the key names a folder (ends in "/") or is empty.
	NoData
)

// String returns the result's name.
func (d DetectResult) String() string {
	switch d {
	case Matched:
		return "matched"
	case Ignored:
		return "ignored"
	case NoData:
		return "nodata"
	default:
		return "unknown"
	}
}

// ConfigError reports a setting that cannot be used.
type ConfigError struct {
	File    string // file that defines the value ("" if unknown)
	Line    int    // line of the key in File
	Section string // log type
	Key     string // setting
	Value   string // the resolved value
	Err     error  // what is wrong
}

// Error implements error as "file:line: [section] key = "value": reason".
func (e *ConfigError) Error() string {
	loc := ""
	if e.File != "" {
		loc = fmt.Sprintf("%s:%d: ", e.File, e.Line)
	}
	return fmt.Sprintf("%s[%s] %s = %q: %v", loc, e.Section, e.Key, e.Value, e.Err)
}

// Unwrap returns the underlying error.
func (e *ConfigError) Unwrap() error { return e.Err }

// NamedReader is one INI document and the name used for it in errors.
type NamedReader struct {
	Name string
	R    io.Reader
}

// Registry holds the log types in detection order (the order in which the
// sections were first seen: built-in ones, then new user ones).
type Registry struct {
	types    []*Type
	byName   map[string]*Type
	defaults map[string]string
}

// Load builds the registry from the built-in definitions overlaid with the
// user files, in order (like es-loader reading aws.ini then user.ini). A
// user file that cannot be read is an error; callers decide which paths are
// optional.
func Load(userFiles ...string) (*Registry, error) {
	srcs := make([]NamedReader, 0, len(userFiles))
	for _, p := range userFiles {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("loading log types: %w", err)
		}
		srcs = append(srcs, NamedReader{Name: p, R: strings.NewReader(string(b))})
	}
	return LoadFrom(srcs...)
}

// LoadFrom is Load with the user documents given as readers.
func LoadFrom(user ...NamedReader) (*Registry, error) {
	ini, err := config.ParseINI(BuiltinName, strings.NewReader(builtinINI))
	if err != nil {
		return nil, fmt.Errorf("loading built-in log types: %w", err)
	}
	for _, u := range user {
		one, err := config.ParseINI(u.Name, u.R)
		if err != nil {
			return nil, fmt.Errorf("loading log types: %w", err)
		}
		ini.Merge(one)
	}
	return FromINI(ini)
}

// FromINI builds a registry from already layered INI files, without the
// built-in definitions. Every section is a log type. All problems found are
// returned together, each a *ConfigError or an interpolation error naming
// file, line, section and key.
func FromINI(ini *config.INI) (*Registry, error) {
	r := &Registry{byName: map[string]*Type{}, defaults: map[string]string{}}
	var errs []error
	for _, k := range ini.Keys(config.DefaultSection) {
		v, _, err := ini.Get(config.DefaultSection, k)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r.defaults[k] = v
	}
	for _, name := range ini.Sections() {
		t, terrs := buildType(ini, name)
		errs = append(errs, terrs...)
		if t != nil {
			r.types = append(r.types, t)
			r.byName[name] = t
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("loading log types: %w", errors.Join(errs...))
	}
	return r, nil
}

// Detect finds the log type of an object key as es-loader does: a key that
// ends in "/" is NoData; otherwise each type's S3Key is searched in the key
// in registry order and the first match wins; if that type's S3KeyIgnored
// is also found the result is Ignored (with the type), else Matched. No
// match is Unknown with a nil type. The key must already be URL-decoded.
func (r *Registry) Detect(key string) (*Type, DetectResult) {
	if key == "" || strings.HasSuffix(key, "/") {
		return nil, NoData
	}
	for _, t := range r.types {
		if t.S3Key.MatchString(key) {
			if t.S3KeyIgnored != nil && t.S3KeyIgnored.MatchString(key) {
				return t, Ignored
			}
			return t, Matched
		}
	}
	return nil, Unknown
}

// Get returns the type with this name.
func (r *Registry) Get(name string) (*Type, bool) {
	t, ok := r.byName[name]
	return t, ok
}

// Names returns the type names in detection order.
func (r *Registry) Names() []string {
	out := make([]string, len(r.types))
	for i, t := range r.types {
		out[i] = t.Name
	}
	return out
}

// Types returns the types in detection order. The slice is a copy; the
// types are shared and must not be modified.
func (r *Registry) Types() []*Type { return append([]*Type(nil), r.types...) }

// Default returns a resolved key of the DEFAULT section, for settings that
// are not per type (custom_user_agent, ignore_own_logs,
// exclude_log_patterns_filename, ...).
func (r *Registry) Default(key string) (string, bool) {
	v, ok := r.defaults[key]
	return v, ok
}

// typeBuilder collects a section's values and the problems found in them.
type typeBuilder struct {
	ini  *config.INI
	name string
	raw  map[string]string
	errs []error
}

func (b *typeBuilder) fail(key string, err error) {
	file, line, _ := b.ini.Origin(b.name, key)
	b.errs = append(b.errs, &ConfigError{File: file, Line: line, Section: b.name,
		Key: key, Value: b.raw[key], Err: err})
}

func (b *typeBuilder) str(key string) string { return b.raw[key] }

func (b *typeBuilder) re(key string) *regexp.Regexp {
	v := b.raw[key]
	if v == "" {
		return nil
	}
	re, err := CompilePython(v)
	if err != nil {
		b.fail(key, err)
	}
	return re
}

func (b *typeBuilder) integer(key string) int {
	v, ok := b.raw[key]
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		b.fail(key, errors.New("not an integer"))
	}
	return n
}

func (b *typeBuilder) boolean(key string) bool {
	v, ok := b.raw[key]
	if !ok {
		return false
	}
	switch strings.ToLower(v) {
	case "1", "yes", "true", "on":
		return true
	case "0", "no", "false", "off":
		return false
	}
	b.fail(key, errors.New("not a boolean (want true/false, yes/no, on/off or 1/0)"))
	return false
}

func (b *typeBuilder) zone(key string, optional bool) *time.Location {
	v := b.raw[key]
	if v == "" && optional {
		return nil
	}
	loc, err := ParseOffset(v)
	if err != nil {
		b.fail(key, err)
	}
	return loc
}

// mapping returns the value of a key named by a list entry (an ecs,
// static_ecs or renamed_newfields element).
func (b *typeBuilder) mapping(listKey, name string) (string, bool) {
	v, ok := b.raw[name]
	if !ok {
		b.fail(listKey, fmt.Errorf("%q is listed but the section has no key %q", name, name))
	}
	return v, ok
}

func buildType(ini *config.INI, name string) (*Type, []error) {
	b := &typeBuilder{ini: ini, name: name, raw: map[string]string{}}
	for _, k := range ini.Keys(name) {
		v, _, err := ini.Get(name, k)
		if err != nil {
			b.errs = append(b.errs, err)
			continue
		}
		b.raw[k] = v
	}
	t := &Type{Name: name, Raw: b.raw}

	if s3, err := CompilePython(b.raw["s3_key"]); err != nil {
		b.fail("s3_key", err)
	} else {
		t.S3Key = s3
	}
	t.S3KeyIgnored = b.re("s3_key_ignored")
	t.LogGroup = b.str("loggroup")
	t.ViaCWL = b.boolean("via_cwl")
	t.ViaFirelens = b.boolean("via_firelens")
	t.IgnoreContainerStderr = b.boolean("ignore_container_stderr")

	t.FileFormat = b.str("file_format")
	switch t.FileFormat {
	case "", "text", "json", "csv", "multiline", "cef", "parquet", "winevtxml", "xml":
	default:
		b.fail("file_format", errors.New("unknown file format (want text, json, csv, multiline, cef, parquet, winevtxml or xml)"))
	}
	t.JSONDelimiter = b.str("json_delimiter")
	t.TextHeaderLineNumber = b.integer("text_header_line_number")
	t.CSVDelimiter = b.str("csv_delimiter")
	t.MultilineFirstline = b.re("multiline_firstline")
	t.XMLFirstline = b.re("xml_firstline")
	if t.FileFormat == "xml" {
		t.MultilineFirstline = t.XMLFirstline
	}
	t.LogPattern = b.re("log_pattern")
	t.FileTimestampFormat = b.re("file_timestamp_format")
	t.MaxLogCount = b.integer("max_log_count")
	if t.RetentionDays = b.integer("retention_days"); t.RetentionDays < 0 {
		b.fail("retention_days", errors.New("want a number of days (0 keeps the data forever)"))
	}

	t.IndexName = b.str("index_name")
	t.IndexSuffix = b.str("index_suffix")
	t.IndexRotation = Rotation(b.str("index_rotation"))
	switch t.IndexRotation {
	case RotationDaily, RotationWeekly, RotationMonthly, RotationYearly, RotationAuto:
	default:
		b.fail("index_rotation", errors.New("want daily, weekly, monthly, yearly or auto"))
	}
	t.IndexTime = b.str("index_time")
	switch t.IndexTime {
	case "@timestamp", "event_ingested":
	default:
		b.fail("index_time", errors.New("want @timestamp or event_ingested"))
	}
	t.IndexTZ = b.zone("index_tz", true)

	t.DocID = b.str("doc_id")
	t.DocIDSuffix = b.str("doc_id_suffix")

	t.TimestampKey = b.str("timestamp_key")
	t.TimestampKeyList = fields(b.str("timestamp_key_list"))
	t.TimestampFormat = ParseTimeFormat(b.str("timestamp_format"))
	if v := b.str("timestamp_format_list"); v != "" {
		var list []string
		if err := json.Unmarshal([]byte(v), &list); err != nil {
			b.fail("timestamp_format_list", fmt.Errorf("want a JSON list of strings: %w", err))
		}
		for _, f := range list {
			t.TimestampFormatList = append(t.TimestampFormatList, ParseTimeFormat(f))
		}
	}
	t.TimestampTZ = b.zone("timestamp_tz", false)
	t.TimestampNano = b.boolean("timestamp_nano")

	t.ECSVersion = b.str("ecs_version")
	t.CloudProvider = b.str("cloud_provider")
	t.FieldPrefix = b.str("field_prefix")
	for _, n := range splitList(b.str("renamed_newfields")) {
		if old, ok := b.mapping("renamed_newfields", n); ok {
			t.RenamedNewFields = append(t.RenamedNewFields, RenamedField{New: n, Old: old})
		}
	}
	t.JSONToText = fields(b.str("json_to_text"))
	for _, n := range splitList(b.str("ecs")) {
		v, ok := b.mapping("ecs", n)
		if !ok {
			continue
		}
		f := ECSField{Name: n, List: IsListField(n)}
		if f.List {
			f.Sources = splitList(v)
		} else {
			f.Sources = fields(v)
		}
		t.ECS = append(t.ECS, f)
	}
	for _, n := range splitList(b.str("static_ecs")) {
		v, ok := b.mapping("static_ecs", n)
		if !ok {
			continue
		}
		f := StaticField{Name: n, Value: v, List: IsListField(n)}
		if f.List {
			f.Values = splitList(v)
		}
		t.StaticECS = append(t.StaticECS, f)
	}
	t.ScriptECS = fields(b.str("script_ecs"))

	t.ClientIPXFF = splitList(b.str("clientip_xff"))
	if n := len(t.ClientIPXFF); n != 0 && n != 2 {
		b.fail("clientip_xff", errors.New("want two fields: the client IP field and the X-Forwarded-For field"))
	}
	t.GeoIP = fields(b.str("geoip"))
	t.IOCIP = splitList(b.str("ioc_ip"))
	t.IOCDomain = splitList(b.str("ioc_domain"))
	t.UserAgentField = b.str("user_agent_enrichment_field")

	if len(b.errs) > 0 {
		return nil, b.errs
	}
	return t, nil
}

// ParseOffset parses a fixed UTC offset as es-loader accepts it: "+09:00",
// "-04:00", "+00:00", or a plain number of hours such as "9" or "-3.5".
// Unlike es-loader, "-04:30" means minus four and a half hours (es-loader
// computes -3.5). The offset must be less than 24 hours.
func ParseOffset(v string) (*time.Location, error) {
	var secs float64
	if h, m, ok := strings.Cut(v, ":"); ok {
		hh, err1 := strconv.Atoi(strings.TrimSpace(h))
		mm, err2 := strconv.Atoi(strings.TrimSpace(m))
		if err1 != nil || err2 != nil || mm < 0 || mm >= 60 {
			return nil, fmt.Errorf("bad UTC offset %q (want e.g. +09:00)", v)
		}
		secs = float64(hh*3600 + mm*60)
		if strings.HasPrefix(strings.TrimSpace(h), "-") {
			secs = float64(hh*3600 - mm*60)
		}
	} else {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(f) {
			return nil, fmt.Errorf("bad UTC offset %q (want e.g. +09:00)", v)
		}
		secs = math.Round(f * 3600)
	}
	if math.Abs(secs) >= 24*3600 {
		return nil, fmt.Errorf("UTC offset %q is not less than 24 hours", v)
	}
	s := int(secs)
	sign := '+'
	a := s
	if s < 0 {
		sign, a = '-', -s
	}
	return time.FixedZone(fmt.Sprintf("%c%02d:%02d", sign, a/3600, a%3600/60), s), nil
}
