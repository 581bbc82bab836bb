{{range $t := tables "group_state"}}ALTER TABLE {{$.DB}}.{{$t}}{{$.OnCluster}} ADD COLUMN in_next_release UInt8 DEFAULT 0;
ALTER TABLE {{$.DB}}.{{$t}}{{$.OnCluster}} ADD COLUMN ignore_until_ns UInt64 DEFAULT 0;
ALTER TABLE {{$.DB}}.{{$t}}{{$.OnCluster}} ADD COLUMN ignore_count UInt64 DEFAULT 0;
ALTER TABLE {{$.DB}}.{{$t}}{{$.OnCluster}} ADD COLUMN ignore_rate_count UInt64 DEFAULT 0;
ALTER TABLE {{$.DB}}.{{$t}}{{$.OnCluster}} ADD COLUMN ignore_rate_window_ns UInt64 DEFAULT 0;
ALTER TABLE {{$.DB}}.{{$t}}{{$.OnCluster}} ADD COLUMN actor String DEFAULT '';
{{end}}
