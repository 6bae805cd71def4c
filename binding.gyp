{
  "targets": [
    {
      "target_name": "rr_reuseport",
      "sources": ["native/reuseport.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-Wall", "-O2"]
    }
  ]
}
