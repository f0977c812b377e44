// Every op's forward against a plain double-precision computation, and its backward against a
// central finite difference of that double computation (loss = sum(y * r), r random).
#include "rpb/nn.hpp"

#include <cmath>
#include <doctest/doctest.h>
#include <functional>
#include <random>
#include <vector>

using namespace rpb;

namespace {

using Vec = std::vector<double>;

std::vector<float> random_floats(std::mt19937& rng, size_t n, double scale = 1.0) {
    std::normal_distribution<double> dist(0.0, scale);
    std::vector<float> v(n);
    for (float& x : v) {
        x = static_cast<float>(dist(rng));
    }
    return v;
}

Vec to_double(const std::vector<float>& v) {
    return Vec(v.begin(), v.end());
}

double dot(const Vec& a, const std::vector<float>& r) {
    double s = 0.0;
    for (size_t i = 0; i < a.size(); ++i) {
        s += a[i] * r[i];
    }
    return s;
}

// d(loss)/d(x[i]) by central differences of loss(x) in double, for every element of x.
Vec finite_difference(Vec& x, const std::function<double()>& loss, double h = 1e-5) {
    Vec grad(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
        const double keep = x[i];
        x[i] = keep + h;
        const double up = loss();
        x[i] = keep - h;
        const double down = loss();
        x[i] = keep;
        grad[i] = (up - down) / (2 * h);
    }
    return grad;
}

void check_close(const std::vector<float>& got, const Vec& want, double tol, const char* what) {
    REQUIRE(got.size() == want.size());
    double worst = 0.0;
    for (size_t i = 0; i < got.size(); ++i) {
        const double err = std::abs(got[i] - want[i]) / (1.0 + std::abs(want[i]));
        worst = std::max(worst, err);
    }
    INFO(what << ": worst relative error " << worst);
    CHECK(worst < tol);
}

// Double references of the forward passes.
Vec linear_ref(const Vec& x, const Vec& w, const Vec& b, int64_t rows, int64_t in, int64_t out) {
    Vec y(static_cast<size_t>(rows * out));
    for (int64_t r = 0; r < rows; ++r) {
        for (int64_t o = 0; o < out; ++o) {
            double s = b.empty() ? 0.0 : b[o];
            for (int64_t i = 0; i < in; ++i) {
                s += x[r * in + i] * w[o * in + i];
            }
            y[r * out + o] = s;
        }
    }
    return y;
}

Vec layernorm_ref(const Vec& x, const Vec& w, const Vec& b, int64_t rows, int64_t c, double eps) {
    Vec y(x.size());
    for (int64_t r = 0; r < rows; ++r) {
        double mean = 0.0, var = 0.0;
        for (int64_t k = 0; k < c; ++k) {
            mean += x[r * c + k];
        }
        mean /= static_cast<double>(c);
        for (int64_t k = 0; k < c; ++k) {
            var += (x[r * c + k] - mean) * (x[r * c + k] - mean);
        }
        var /= static_cast<double>(c);
        for (int64_t k = 0; k < c; ++k) {
            y[r * c + k] = (x[r * c + k] - mean) / std::sqrt(var + eps) * w[k] + b[k];
        }
    }
    return y;
}

Vec attention_ref(const nn::AttentionShape& s, const Vec& qkv, const Vec& table,
                  const std::vector<int32_t>& index) {
    const int64_t t = s.tokens, d = s.head_dim, e = s.heads * d;
    Vec out(static_cast<size_t>(s.batch * t * e), 0.0);
    for (int64_t b = 0; b < s.batch; ++b) {
        for (int64_t h = 0; h < s.heads; ++h) {
            for (int64_t i = 0; i < t; ++i) {
                Vec logit(static_cast<size_t>(t));
                double mx = -1e300;
                for (int64_t j = 0; j < t; ++j) {
                    double dotqk = 0.0;
                    for (int64_t c = 0; c < d; ++c) {
                        dotqk += qkv[(b * t + i) * 3 * e + h * d + c] *
                                 qkv[(b * t + j) * 3 * e + e + h * d + c];
                    }
                    logit[j] = dotqk * s.scale +
                               (table.empty() ? 0.0 : table[index[i * t + j] * s.heads + h]);
                    mx = std::max(mx, logit[j]);
                }
                double sum = 0.0;
                for (double& v : logit) {
                    v = std::exp(v - mx);
                    sum += v;
                }
                for (int64_t c = 0; c < d; ++c) {
                    double acc = 0.0;
                    for (int64_t j = 0; j < t; ++j) {
                        acc += logit[j] / sum * qkv[(b * t + j) * 3 * e + 2 * e + h * d + c];
                    }
                    out[(b * t + i) * e + h * d + c] = acc;
                }
            }
        }
    }
    return out;
}

} // namespace

TEST_CASE("rpb::nn::linear_forward and linear_backward match double references") {
    std::mt19937 rng(1);
    const int64_t rows = 300, in = 7, out = 19; // rows over one 256-row piece, out over 16
    const auto x = random_floats(rng, rows * in), w = random_floats(rng, out * in),
               b = random_floats(rng, out), r = random_floats(rng, rows * out);
    for (int threads : {1, 3}) {
        ThreadPool pool(threads);
        std::vector<float> y(rows * out);
        nn::linear_forward(pool, x.data(), w.data(), b.data(), y.data(), rows, in, out);
        Vec xd = to_double(x), wd = to_double(w), bd = to_double(b);
        check_close(y, linear_ref(xd, wd, bd, rows, in, out), 1e-5, "y");
        std::vector<float> dx(rows * in), dw(out * in), db(out);
        nn::linear_backward(pool, r.data(), x.data(), w.data(), dx.data(), dw.data(), db.data(),
                            rows, in, out);
        auto loss = [&] { return dot(linear_ref(xd, wd, bd, rows, in, out), r); };
        check_close(dw, finite_difference(wd, loss), 1e-5, "dw");
        check_close(db, finite_difference(bd, loss), 1e-5, "db");
        // dx on a few rows is enough (every row is the same computation).
        Vec xs(xd.begin(), xd.begin() + 3 * in);
        auto loss_rows = [&] {
            Vec xx = xd;
            std::copy(xs.begin(), xs.end(), xx.begin());
            return dot(linear_ref(xx, wd, bd, rows, in, out), r);
        };
        const Vec dxs = finite_difference(xs, loss_rows);
        check_close(std::vector<float>(dx.begin(), dx.begin() + 3 * in), dxs, 1e-5, "dx");
    }
}

TEST_CASE("rpb::nn::layernorm_forward and layernorm_backward match double references") {
    std::mt19937 rng(2);
    const int64_t rows = 270, c = 12;
    auto x = random_floats(rng, rows * c, 2.0);
    const auto w = random_floats(rng, c), b = random_floats(rng, c),
               r = random_floats(rng, rows * c);
    ThreadPool pool(2);
    std::vector<float> y(rows * c), mean(rows), rstd(rows);
    nn::layernorm_forward(pool, x.data(), w.data(), b.data(), y.data(), mean.data(), rstd.data(),
                          rows, c, 1e-6f);
    Vec xd = to_double(x), wd = to_double(w), bd = to_double(b);
    check_close(y, layernorm_ref(xd, wd, bd, rows, c, 1e-6), 1e-5, "y");
    std::vector<float> dx(rows * c), dw(c), db(c);
    nn::layernorm_backward(pool, r.data(), x.data(), w.data(), mean.data(), rstd.data(), dx.data(),
                           dw.data(), db.data(), rows, c);
    auto loss = [&] { return dot(layernorm_ref(xd, wd, bd, rows, c, 1e-6), r); };
    check_close(dw, finite_difference(wd, loss), 1e-4, "dw");
    check_close(db, finite_difference(bd, loss), 1e-4, "db");
    check_close(dx, finite_difference(xd, loss), 1e-4, "dx");
}

TEST_CASE("rpb::nn::gelu_forward and gelu_backward match the exact erf GELU") {
    std::vector<float> x(8001);
    for (size_t i = 0; i < x.size(); ++i) {
        x[i] = static_cast<float>(static_cast<int>(i) - 4000) * 0.0025f; // [-10, 10]
    }
    ThreadPool pool(2);
    std::vector<float> y(x.size());
    std::vector<float> dx(x.size());
    std::vector<float> ones(x.size(), 1.0f);
    nn::gelu_forward(pool, x.data(), y.data(), static_cast<int64_t>(x.size()));
    nn::gelu_backward(pool, ones.data(), x.data(), dx.data(), static_cast<int64_t>(x.size()));
    double worst_y = 0.0, worst_d = 0.0;
    for (size_t i = 0; i < x.size(); ++i) {
        const double v = x[i];
        const double cdf = 0.5 * (1.0 + std::erf(v / std::sqrt(2.0)));
        const double pdf = std::exp(-0.5 * v * v) / std::sqrt(2.0 * M_PI);
        worst_y = std::max(worst_y, std::abs(y[i] - v * cdf));
        worst_d = std::max(worst_d, std::abs(dx[i] - (cdf + v * pdf)));
    }
    INFO("worst |y - gelu| " << worst_y << ", worst |dx - gelu'| " << worst_d);
    CHECK(worst_y < 5e-6); // erf within 4.2e-7 times |x| / 2 up to 10
    CHECK(worst_d < 2e-6);
}

TEST_CASE("rpb::nn::attention_forward and attention_backward match double references") {
    std::mt19937 rng(3);
    const nn::AttentionShape s{.batch = 2, .tokens = 5, .heads = 2, .head_dim = 3, .scale = 0.6f};
    const int64_t e = s.heads * s.head_dim, rows = s.batch * s.tokens, entries = 7;
    const auto qkv = random_floats(rng, rows * 3 * e), table = random_floats(rng, entries * 2),
               r = random_floats(rng, rows * e);
    std::vector<int32_t> index(s.tokens * s.tokens);
    for (int64_t i = 0; i < s.tokens; ++i) {
        for (int64_t j = 0; j < s.tokens; ++j) {
            index[i * s.tokens + j] = static_cast<int32_t>((i * 3 + j * 2) % entries);
        }
    }
    for (const bool with_table : {true, false}) {
        for (int threads : {1, 2}) {
            ThreadPool pool(threads);
            std::vector<float> probs(s.batch * s.heads * s.tokens * s.tokens), out(rows * e);
            nn::attention_forward(pool, s, qkv.data(), with_table ? table.data() : nullptr,
                                  index.data(), probs.data(), out.data());
            Vec qd = to_double(qkv), td = with_table ? to_double(table) : Vec();
            check_close(out, attention_ref(s, qd, td, index), 1e-5, "out");
            std::vector<float> dqkv(rows * 3 * e), dtable(entries * 2);
            nn::attention_backward(pool, s, qkv.data(), probs.data(), r.data(), index.data(),
                                   entries, dqkv.data(), with_table ? dtable.data() : nullptr);
            auto loss = [&] { return dot(attention_ref(s, qd, td, index), r); };
            check_close(dqkv, finite_difference(qd, loss), 1e-4, "dqkv");
            if (with_table) {
                check_close(dtable, finite_difference(td, loss), 1e-4, "dtable");
            }
        }
    }
}

TEST_CASE("rpb::nn::cross_entropy_forward_backward is F.cross_entropy with label smoothing") {
    std::mt19937 rng(4);
    const int64_t batch = 5, classes = 4;
    const auto logits = random_floats(rng, batch * classes, 3.0);
    const std::vector<int32_t> labels = {0, 3, 1, 1, 2};
    for (const float eps : {0.0f, 0.1f}) {
        std::vector<float> dlogits(batch * classes), rows(batch);
        const double loss = nn::cross_entropy_forward_backward(
            logits.data(), labels.data(), batch, classes, eps, dlogits.data(), rows.data());
        Vec z = to_double(logits);
        auto ref = [&] {
            double total = 0.0;
            for (int64_t b = 0; b < batch; ++b) {
                double sum = 0.0;
                for (int64_t c = 0; c < classes; ++c) {
                    sum += std::exp(z[b * classes + c]);
                }
                double smooth = 0.0;
                for (int64_t c = 0; c < classes; ++c) {
                    smooth -= std::log(std::exp(z[b * classes + c]) / sum) / double(classes);
                }
                const double nll = -std::log(std::exp(z[b * classes + labels[b]]) / sum);
                total += (1.0 - double(eps)) * nll + double(eps) * smooth;
            }
            return total / batch;
        };
        CHECK(std::abs(loss - ref()) < 1e-12);
        check_close(dlogits, finite_difference(z, ref), 1e-6, "dlogits");
    }
}

TEST_CASE("rpb::nn ops give the same bytes for any thread count") {
    std::mt19937 rng(5);
    const int64_t rows = 1000, in = 33, out = 40;
    const auto x = random_floats(rng, rows * in), w = random_floats(rng, out * in),
               dy = random_floats(rng, rows * out);
    std::vector<std::vector<float>> results;
    for (int threads : {1, 2, 4}) {
        ThreadPool pool(threads);
        std::vector<float> dx(rows * in), dw(out * in), db(out);
        nn::linear_backward(pool, dy.data(), x.data(), w.data(), dx.data(), dw.data(), db.data(),
                            rows, in, out);
        dx.insert(dx.end(), dw.begin(), dw.end());
        dx.insert(dx.end(), db.begin(), db.end());
        results.push_back(dx);
    }
    CHECK(results[0] == results[1]);
    CHECK(results[0] == results[2]);
}
