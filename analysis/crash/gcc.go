package crash

import (
	"encoding/binary"
	"fmt"
	"sync"
)

// MinGW C++ exceptions (GCC's libstdc++ or LLVM's libc++abi over SEH).
//
// libgcc unwind-seh.c raises STATUS_GCC_THROW with one parameter, the
// _Unwind_Exception (LLVM libunwind's Unwind-seh.cpp does the same). The C++
// runtime puts its header right before it and the thrown object right after it:
//
//	_Unwind_Exception (libgcc unwind-generic.h, SEH variant) {
//	    u64 exception_class; ptr exception_cleanup; ptr private_[6];
//	} __attribute__((aligned))            // 64 bytes on x64
//	__cxa_exception (libstdc++ libsupc++/unwind-cxx.h) {
//	    type_info* exceptionType; ptr exceptionDestructor; ptr unexpectedHandler;
//	    ptr terminateHandler; ptr nextException; int handlerCount;
//	    int handlerSwitchValue; ptr actionRecord; ptr languageSpecificData;
//	    ptr catchTemp; ptr adjustedPtr; _Unwind_Exception unwindHeader;
//	}
//	type_info { ptr vtable; const char* __name; }   // __name: "St9bad_alloc"
//
// so exceptionType lies 9 pointers and 8 bytes (rounded to 16) before the
// _Unwind_Exception: 80 bytes on x64. libc++abi's __cxa_exception (libcxxabi
// src/cxa_exception.h) has the same fields between exceptionType and
// unwindHeader on 64-bit targets. A dependent exception (std::rethrow_exception,
// class "...C++\x01") holds the primary object's address where exceptionType is
// (libstdc++; libc++abi one pointer earlier).
const (
	gxxPrimary   = 0x474E5543432B2B00 // "GNUCC++\0"
	gxxDependent = 0x474E5543432B2B01 // "GNUCC++\1"
	clangPrimary = 0x434C4E47432B2B00 // "CLNGC++\0"
	clangDepend  = 0x434C4E47432B2B01 // "CLNGC++\1"
)

func align16(n uint64) uint64 { return (n + 15) &^ 15 }

// itaniumMessageTypes keep their message in a string one pointer into the object:
// libstdc++'s logic_error and runtime_error hold a __cow_string (a pointer to the
// characters), libc++'s a __libcpp_refstring (the same). Built on first use: a
// run that never decodes a GCC or Clang exception does not pay for it at start-up.
var itaniumMessageTypes = sync.OnceValue(func() map[string]bool {
	return map[string]bool{
		"std::logic_error": true, "std::domain_error": true, "std::invalid_argument": true,
		"std::length_error": true, "std::out_of_range": true, "std::future_error": true,
		"std::runtime_error": true, "std::range_error": true, "std::overflow_error": true,
		"std::underflow_error": true, "std::system_error": true,
		"std::ios_base::failure": true, "std::ios_base::failure[abi:cxx11]": true,
	}
})

func (d *decoder) gcc() {
	c, r := d.c, d.r
	cpp := &CPPException{ABI: "itanium"}
	c.CPP = cpp
	ue, ok := d.param(0)
	if !ok || ue == 0 {
		d.unknown("thrown type", nil, "the record has no _Unwind_Exception pointer in parameter 0")
		return
	}
	cpp.UnwindException = hexp(ue)
	ptr := d.ptr
	if ptr == 0 {
		// MinGW raises GCC exceptions through SEH only on 64-bit targets.
		ptr = 8
	}
	ueSize := align16(8 + 7*uint64(ptr))
	hdrSize := align16(9*uint64(ptr) + 8)
	var b [8]byte
	if _, err := r.read(b[:], ue); err != nil {
		d.unknown("exception class", hexp(ue), "reading the _Unwind_Exception: %v", err)
		return
	}
	class := binary.LittleEndian.Uint64(b[:])
	var runtime string
	switch class {
	case gxxPrimary, gxxDependent:
		runtime = "libstdc++"
	case clangPrimary, clangDepend:
		runtime = "libc++abi"
	default:
		cpp.ExceptionClass = fmt.Sprintf("%#016x", class)
		d.unknown("thrown type", hexp(ue), "exception_class %#016x is neither libstdc++'s nor libc++abi's: a foreign exception whose layout is not known", class)
		return
	}
	dependent := class&0xFF == 1
	cpp.ExceptionClass = string(rune(class>>56)) + string(rune(class>>48&0xFF)) + string(rune(class>>40&0xFF)) +
		string(rune(class>>32&0xFF)) + string(rune(class>>24&0xFF)) + string(rune(class>>16&0xFF)) + string(rune(class>>8&0xFF))
	if dependent {
		cpp.ExceptionClass += " dependent"
	} else {
		cpp.ExceptionClass += " primary"
	}
	cpp.Runtime = runtime
	if m := r.module(ue); m >= 0 {
		cpp.Module = r.mods[m].BaseName()
	}

	hdr := ue - hdrSize
	obj := ue + ueSize
	tiAt := hdr
	if dependent {
		at := hdr
		if runtime == "libc++abi" {
			if ptr != 8 {
				d.unknown("thrown type", hexp(ue), "the layout of a 32-bit libc++abi dependent exception is not known")
				return
			}
			at -= uint64(ptr)
		}
		p, err := r.ptr(at, ptr)
		if err != nil {
			d.unknown("thrown object", hexp(at), "reading primaryException of the dependent exception: %v", err)
			return
		}
		obj = p
		tiAt = p - ueSize - hdrSize
	}
	cpp.Object = Hex(obj)
	ti, err := r.ptr(tiAt, ptr)
	if err != nil {
		d.unknown("type_info", hexp(tiAt), "reading exceptionType in the __cxa_exception header: %v", err)
		return
	}
	if ti == 0 {
		d.unknown("type_info", hexp(tiAt), "exceptionType in the __cxa_exception header is null")
		return
	}
	cpp.TypeInfo = hexp(ti)
	if m := r.module(ti); m >= 0 {
		cpp.Module = r.mods[m].BaseName()
	}
	namePtr, err := r.ptr(ti+uint64(ptr), ptr)
	if err != nil || namePtr == 0 {
		if err == nil {
			err = fmt.Errorf("its name pointer is null")
		}
		d.unknown("type name", hexp(ti), "reading the std::type_info at %#x: %v", ti, err)
		return
	}
	s, trunc, err := r.cstring(namePtr, maxDecoratedName)
	if (err != nil && s == "") || s == "" {
		if err == nil {
			err = fmt.Errorf("the name is empty")
		}
		d.unknown("type name", hexp(namePtr), "%v", err)
		return
	}
	tn := DemangleItanium(s)
	if err != nil || trunc {
		tn = rawName(s, "the name was cut short")
		d.unknown("type name", hexp(namePtr), "the type_info name at %#x is cut short", namePtr)
	}
	cpp.ThrownType = &tn
	d.evidence(EvidenceThrowInfo, hexp(ue), fmt.Sprintf("_Unwind_Exception at %#x, class %s (%s)", ue, cpp.ExceptionClass, runtime),
		fmt.Sprintf("__cxa_exception header at %#x, std::type_info at %#x", tiAt, ti))
	t := []string{"thrown type " + tn.Name, "mangled " + tn.Decorated}
	if !tn.Demangled {
		t = append(t, "not demangled: "+tn.Why)
	}
	d.evidence(EvidenceThrownType, hexp(ti), t...)

	if itaniumMessageTypes()[tn.Name] {
		d.itaniumMessage(cpp, obj, ptr, runtime)
	}
}

func (d *decoder) itaniumMessage(cpp *CPPException, obj uint64, ptr int, runtime string) {
	layout := "libstdc++ {vptr, __cow_string}"
	if runtime == "libc++abi" {
		layout = "libc++ {vptr, __libcpp_refstring}"
	}
	what, err := d.r.ptr(obj+uint64(ptr), ptr)
	if err != nil || what == 0 {
		if err == nil {
			err = fmt.Errorf("the string pointer is null")
		}
		d.unknown("what() message", hexp(obj), "reading the %s object at %#x: %v", cpp.ThrownType.Name, obj, err)
		return
	}
	s, trunc, err := d.r.cstring(what, maxMessage)
	if err != nil && s == "" {
		d.unknown("what() message", hexp(what), "%v", err)
		return
	}
	cpp.Message = &Message{Text: s, Address: Hex(what), Truncated: trunc, Layout: layout}
	d.evidence(EvidenceMessage, hexp(what), fmt.Sprintf("what() = %q", s), "read through the object at "+Hex(obj).String()+" ("+layout+")")
}
