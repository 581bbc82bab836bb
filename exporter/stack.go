package exporter

import (
	"iter"

	"github.com/errortracker/errortracker/grouping"
)

// Frame is one frame of a stack trace.
//
// Deprecated: use [grouping.Frame]; package grouping owns stack parsing.
type Frame = grouping.Frame

// AppPackages decides which frames are the application's own code.
//
// Deprecated: use [grouping.AppPackages].
type AppPackages = grouping.AppPackages

// Frames parses a Go stack trace into frames, innermost first.
//
// Deprecated: use [grouping.Frames].
func Frames(stack string) []Frame { return grouping.Frames(stack) }

// AllFrames yields the frames Frames returns, one at a time.
//
// Deprecated: use [grouping.AllFrames].
func AllFrames(stack string) iter.Seq[Frame] { return grouping.AllFrames(stack) }

// DefaultAppPackages is the main module's path from the build information.
//
// Deprecated: use [grouping.DefaultAppPackages].
func DefaultAppPackages() AppPackages { return grouping.DefaultAppPackages() }
