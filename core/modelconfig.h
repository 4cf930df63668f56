#pragma once

#include "workspace.h" // Result

#include <QJsonObject>
#include <QString>

namespace studio {

enum class Architecture { Gpt2, Bert };

QString architectureName(Architecture architecture); // "gpt2", "bert"

// What the forward pass needs from config.json.
struct ModelConfig {
    Architecture architecture = Architecture::Gpt2;
    int layers = 0;
    int heads = 0;
    int hidden = 0;       // d_model
    int intermediate = 0; // MLP width
    int vocabSize = 0;
    int maxPositions = 0;
    int typeVocabSize = 0; // BERT token types
    double layerNormEps = 1e-5;
    bool tanhGelu = true; // GPT-2 "gelu_new"; BERT "gelu" is the exact erf form

    int headDim() const { return heads > 0 ? hidden / heads : 0; }
};

// Reads GPT-2 (model_type gpt2) and BERT (model_type bert) configurations; refuses other
// architectures and inconsistent sizes with a message that says why.
Result<ModelConfig> parseModelConfig(const QJsonObject &json);

} // namespace studio
