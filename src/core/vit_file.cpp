// Model files: the ViT's parameters as float32 safetensors with its config in the metadata
// (formats.md "Model files"), so that PyTorch loads them with strict=True.
#include "rpb/error.hpp"
#include "rpb/safetensors.hpp"
#include "rpb/vit.hpp"

#include <fmt/format.h>

namespace rpb {

std::string model_file_bytes(const ViT& model) {
    std::vector<std::pair<std::string, FloatTensor>> tensors;
    for (const ParamInfo& p : model.layout()) {
        const float* src = model.parameters().data() + p.offset;
        tensors.emplace_back(p.name, FloatTensor(p.shape, std::vector<float>(src, src + p.size)));
    }
    return safetensors_bytes(
        tensors, {{"format", "pt"}, {"rpbtool.config", config_to_json(model.config())}});
}

ViT model_from_tensors(const std::map<std::string, FloatTensor>& tensors,
                       const std::string& config_json, const std::string& origin) {
    ViT model(config_from_json(config_json, origin));
    for (const ParamInfo& p : model.layout()) {
        const auto it = tensors.find(p.name);
        if (it == tensors.end()) {
            throw Error(fmt::format("{}: tensor '{}' {} is missing for this model's config", origin,
                                    p.name, shape_string(p.shape)));
        }
        if (it->second.shape() != p.shape) {
            throw Error(fmt::format("{}: tensor '{}' has shape {}, the config needs {}", origin,
                                    p.name, shape_string(it->second.shape()),
                                    shape_string(p.shape)));
        }
        std::copy(it->second.data(), it->second.data() + p.size,
                  model.parameters().data() + p.offset);
    }
    for (const auto& entry : tensors) {
        // (Not a structured binding: clang 14 cannot capture one in the lambda.)
        const std::string& name = entry.first;
        const bool known = std::any_of(model.layout().begin(), model.layout().end(),
                                       [&](const ParamInfo& p) { return p.name == name; });
        if (!known) {
            throw Error(fmt::format("{}: unexpected tensor '{}' for this model's config (pos {}, "
                                    "pool {})",
                                    origin, name, position_name(model.config().pos),
                                    pool_name(model.config().pool)));
        }
    }
    return model;
}

ViT load_model(const std::string& path) {
    SafetensorsMetadata metadata;
    const TensorMap file = read_safetensors(path, metadata);
    const auto config = metadata.find("rpbtool.config");
    if (config == metadata.end()) {
        throw Error(fmt::format("{}: not an rpbtool model file: no 'rpbtool.config' in its "
                                "metadata",
                                path));
    }
    std::map<std::string, FloatTensor> tensors;
    for (const auto& [name, array] : file) {
        if (name.starts_with("optimizer.")) {
            continue; // a training state file's moments
        }
        tensors.emplace(name, to_float32(array, fmt::format("{}: tensor '{}'", path, name)));
    }
    return model_from_tensors(tensors, config->second, path);
}

} // namespace rpb
