# Writes a C++ source file holding the bytes of a file, for the build to compile into the
# binary (the font: no font file is read at run time). Run in script mode:
#   cmake -DINPUT=font.ttf -DOUTPUT=font_data.cpp -DSYMBOL=dejavu_sans -P embed_file.cmake
# The bytes become `extern const unsigned char rpb_<SYMBOL>[]` and its size
# `rpb_<SYMBOL>_size`, in hexadecimal, 16 a line.
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" digits)
math(EXPR size "${digits} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REPEAT "0x..," 16 line)
string(REGEX REPLACE "(${line})" "\\1\n" bytes "${bytes}")
get_filename_component(name "${INPUT}" NAME)
file(WRITE "${OUTPUT}.tmp"
  "// Generated at build time by cmake/embed_file.cmake from ${name}; do not edit.\n"
  "#include <cstddef>\n"
  "extern const unsigned char rpb_${SYMBOL}[];\n"
  "extern const std::size_t rpb_${SYMBOL}_size;\n"
  "const unsigned char rpb_${SYMBOL}[] = {\n${bytes}\n};\n"
  "const std::size_t rpb_${SYMBOL}_size = ${size};\n")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
