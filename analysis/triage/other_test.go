//go:build !unix

package triage

import (
	"errors"
	"time"
)

func cpuTime() time.Duration { return 0 }

func mkfifo(string) error { return errors.New("no named pipes") }
