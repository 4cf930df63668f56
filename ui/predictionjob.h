#pragma once

#include "attentionresult.h"
#include "checkpoint.h"

#include <QHash>
#include <QSet>
#include <QObject>

#include <memory>

namespace studio {

// The next-token logits of a result's positions, each computed once on a worker (one product with
// the output projection: C × vocabulary multiply-adds, from 40 million for GPT-2 small to billions
// for large vocabularies) and kept while the result is current.
class PredictionJob : public QObject {
    Q_OBJECT
public:
    explicit PredictionJob(QObject *parent = nullptr);

    // A new result (and the model that made it): the logits of the old one are forgotten.
    void reset(SharedResult result, std::shared_ptr<const Checkpoint> checkpoint);
    bool available() const; // the result has final hidden states and the model an output projection
    // The logits (vocabulary) of a position, or null while they are being computed (request starts it).
    std::shared_ptr<const RowVector> logits(int position) const;
    void request(int position);
    const Checkpoint *checkpoint() const { return m_checkpoint.get(); }
    SharedResult result() const { return m_result; }

Q_SIGNALS:
    void changed(); // logits arrived, or a new result

private:
    SharedResult m_result;
    std::shared_ptr<const Checkpoint> m_checkpoint;
    QHash<int, std::shared_ptr<const RowVector>> m_logits;
    QSet<int> m_pending;
    quint64 m_generation = 0;
};

} // namespace studio
