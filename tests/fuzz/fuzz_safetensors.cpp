// libFuzzer target: the safetensors header and offset checks, then reading every tensor it accepts.
#include "safetensors.h"

#include <cstdint>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const auto tensors = studio::SafetensorsFile::parse(data, qint64(size));
    if (!tensors)
        return 0;
    std::vector<float> values;
    for (const studio::TensorView &view : *tensors.value) {
        if (view.elementCount() > (1 << 20))
            continue;
        values.resize(size_t(view.elementCount()));
        (void)studio::readFloats(view, values.data(), view.elementCount());
    }
    return 0;
}
