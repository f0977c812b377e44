// The schemes the tests build again and again: a Swin-style 2d window and a T5 self-attention
// of n tokens (scheme.hpp's defaults for everything else).
#pragma once

#include "rpb/scheme.hpp"

#include <cstdint>

inline rpb::Scheme window2d_scheme(int64_t wh, int64_t ww, bool cls = false) {
    rpb::Scheme s;
    s.type = rpb::SchemeType::window2d;
    s.window_h = wh;
    s.window_w = ww;
    s.cls_token = cls;
    return s;
}

inline rpb::Scheme t5_scheme(int64_t n, bool causal = false) {
    rpb::Scheme s;
    s.type = rpb::SchemeType::t5;
    s.qlen = n;
    s.klen = n;
    s.t5.bidirectional = !causal;
    return s;
}
