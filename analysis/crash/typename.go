package crash

// TypeName is a C++ type name as the runtime recorded it (Decorated) and in C++
// spelling (Name).
type TypeName struct {
	// Decorated is the name as stored: an MSVC RTTI name (".?AVbad_alloc@std@@") or an
	// Itanium type_info name ("St9bad_alloc").
	Decorated string `json:"decorated"`
	// Name is the demangled name ("std::bad_alloc"); when Demangled is false it is
	// Decorated unchanged.
	Name string `json:"name"`
	// Kind is what the name denotes: "class", "struct", "union", "enum", "pointer",
	// "reference", "builtin", "function", "array", "nullptr" or "" when unknown.
	Kind string `json:"kind,omitempty"`
	// Demangled is false when the decorated form was not understood; Why says what
	// stopped the demangler.
	Demangled bool   `json:"demangled"`
	Why       string `json:"why,omitempty"`
}

// String returns Name.
func (t TypeName) String() string { return t.Name }

// Bounds shared by both demanglers: decorated names come from process memory and
// image files, so every recursion and every rendered string is capped.
const (
	maxDemangleDepth = 64
	maxRenderedName  = 4096
	maxDecoratedName = 4096
)

func rawName(decorated, why string) TypeName {
	return TypeName{Decorated: decorated, Name: decorated, Why: why}
}
