// The binding lands in its own files; this one only names the module.
@_exported import CLibUV
