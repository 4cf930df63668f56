#pragma once

#include "modelconfig.h"
#include "result.h"
#include "teachingmodel.h"
#include "translationmodel.h"

#include <QString>

#include <exception>
#include <new>

namespace studio {

// The memory a run holds beyond the weights, from the shapes alone, so that a run that cannot fit
// is refused before it starts, with the figure. Every cell is a 4-byte float; T is the token count,
// L layers, H heads, C = d_model, d = d_head, I the MLP width (twice it for gated MLPs, whose gate
// is held beside it).
//
//   window:  4·(L·H·T²  +  4·T² + 4·T·d  +  L·T·C  +  T·(7·C + I))
//            every attention map (the grid shows them all), one head's stages for the
//            step-through, each layer's attention input, and the working activations;
//   trace:   4·(H·T²  +  s·(4·T² + 4·T·d)  +  T·C  +  T·(7·C + I)),  s = heads of one layer
//            whose stages are kept: the trace is written a layer at a time, so only one layer's
//            maps are held;
//   teaching model: 4·(H·(4·T² + 4·T·d) + T·C), every stage of every head, plus 4·H·T² in the
//            window for its copy of the maps.
enum class RunKind { Window, Trace };

double checkpointRunBytes(const ModelConfig &config, int tokens, RunKind kind, int stageHeadsPerLayer = 0);
double teachingRunBytes(const TeachingConfig &config, int tokens, RunKind kind);
// A translation run (S source and T target tokens): every map of the three kinds, each layer's
// inputs, the encoder's output and the working activations,
//   4·(L_e·H_e·S² + L_d·H_d·(T² + T·S) + (L_e·S + 2·L_d·T + S)·C + (S + T)·(7·C + I)).
double translationRunBytes(const TranslationConfig &config, int sourceTokens, int targetTokens);

// Memory a new allocation can still get: the kernel's estimate of available memory plus free swap,
// lowered to what an address-space or data limit (ulimit -v, -d) leaves. 0 when unknown.
double availableMemoryBytes();

// Fails, naming both figures, when needed exceeds available (an unknown amount never refuses).
Status checkRunFits(double neededBytes, double availableBytes);
// The same against this machine now. A run smaller than kSmallRunBytes fits wherever the app runs
// and is passed without reading /proc: the teaching model reruns on every keystroke.
inline constexpr double kSmallRunBytes = 64.0 * 1024 * 1024;
Status checkRunFitsNow(double neededBytes);

// A size as people read it: "9.4 GB".
QString memoryText(double bytes);

// Runs work that allocates large matrices; a failed allocation (std::bad_alloc, which Eigen throws
// when malloc fails, and gemm for oneDNN's out-of-memory) or another library error becomes a
// message instead of ending the program.
template<typename Work>
Status guardAllocation(Work &&work)
{
    try {
        work();
    } catch (const std::bad_alloc &) {
        return Status::failure(QStringLiteral("not enough memory for this run: an allocation failed. "
                                              "A shorter text needs less; the attention maps grow with the square of its length."));
    } catch (const std::exception &e) { // a library's own error (oneDNN's): a message, not the end of the program
        return Status::failure(QStringLiteral("the computation failed: %1").arg(QString::fromLocal8Bit(e.what())));
    }
    return Status::success();
}

} // namespace studio
