// A dense row-major tensor: shape plus a contiguous vector of values.
// Layout convention everywhere in rpbtool: C order, dimension 0 is the slowest.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace rpb {

using Shape = std::vector<int64_t>;

/// Number of elements of `shape`; throws rpb::Error when a dimension is negative or the
/// product overflows int64 (or exceeds `limit`, when given).
int64_t shape_size(const Shape& shape, int64_t limit = INT64_MAX);

/// "(12, 128, 128)", the way numpy prints a shape.
std::string shape_string(const Shape& shape);

template <typename T>
class Tensor {
public:
    Tensor() = default;
    explicit Tensor(Shape shape, T fill = T{})
        : shape_(std::move(shape)), values_(static_cast<size_t>(shape_size(shape_)), fill) {}
    Tensor(Shape shape, std::vector<T> values)
        : shape_(std::move(shape)), values_(std::move(values)) {}

    const Shape& shape() const { return shape_; }
    int64_t rank() const { return static_cast<int64_t>(shape_.size()); }
    int64_t dim(int64_t axis) const { return shape_[static_cast<size_t>(axis)]; }
    int64_t size() const { return static_cast<int64_t>(values_.size()); }

    T* data() { return values_.data(); }
    const T* data() const { return values_.data(); }
    std::span<T> values() { return values_; }
    std::span<const T> values() const { return values_; }
    std::vector<T>& storage() { return values_; }

    T& operator[](int64_t flat) { return values_[static_cast<size_t>(flat)]; }
    const T& operator[](int64_t flat) const { return values_[static_cast<size_t>(flat)]; }

    /// Element (i, j) of a rank-2 tensor.
    T& at(int64_t i, int64_t j) { return values_[static_cast<size_t>(i * shape_[1] + j)]; }
    const T& at(int64_t i, int64_t j) const {
        return values_[static_cast<size_t>(i * shape_[1] + j)];
    }

private:
    Shape shape_;
    std::vector<T> values_;
};

using FloatTensor = Tensor<float>;
using IntTensor = Tensor<int32_t>;

} // namespace rpb
