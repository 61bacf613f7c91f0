{
  # The native half of the TUN device: a Node-API addon in plain C.
  # Built by `npm install` (scripts.install: node-gyp rebuild) into build/Release/tuntcp_tun.node.
  "targets": [
    {
      "target_name": "tuntcp_tun",
      "sources": ["src/tun/native/tun.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "conditions": [
        ["OS!='linux'", { "type": "none", "sources": [] }]
      ]
    }
  ]
}
