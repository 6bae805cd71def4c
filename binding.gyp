{
  "targets": [
    {
      "target_name": "rr_reuseport",
      "sources": ["native/reuseport.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-Wall", "-O2"]
    },
    {
      "target_name": "rr_sha256",
      "sources": ["native/sha256-each.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-Wall", "-O2"]
    }
  ]
}
