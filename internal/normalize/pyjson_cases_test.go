package normalize

// Cases produced with Python 3.11: json.dumps(json.loads(in), ensure_ascii=False).
var pyJSONCases = []struct{ in, want string }{
	{`{"a":1,"b":[1,2.5,{"c":null}],"d":"x/y\/z"}`, `{"a": 1, "b": [1, 2.5, {"c": null}], "d": "x/y/z"}`},
	{"{\"s\":\"caf\\u00e9 é 😀 \\ud83d\\ude00\",\"t\":\"\\t\\n\\\"q\\\"\x7f\\u0001\"}", "{\"s\": \"café é 😀 😀\", \"t\": \"\\t\\n\\\"q\\\"\x7f\\u0001\"}"},
	{`[1.0,1e16,1e15,0.0001,0.00001,1.5E+3,-0,-2.5e-7,123456789012345678901234567890,52.3676]`, `[1.0, 1e+16, 1000000000000000.0, 0.0001, 1e-05, 1500.0, 0, -2.5e-07, 123456789012345678901234567890, 52.3676]`},
	{` { "k" : [ true , false , null ] } `, `{"k": [true, false, null]}`},
	{`{"x":"<>& "}`, `{"x": "<>& "}`},
}
