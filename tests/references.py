"""Float64 NumPy references of the loss definitions, used by the tests.

`LOSS_REFERENCES` has one row per registered distillation loss; the shared
suite (`tests/losses/test_every_loss.py`) runs every row through the same
checks, and fails if a registered loss has no row.
"""

import numpy as np

NORM_EPSILON = 1e-12
GAP_EPSILON = 1e-8


def softmax(z, temperature=1.0):
    z = z / temperature
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def unit_pixels(features):
    b, h, w, c = features.shape
    flat = features.reshape(b, h * w, c)
    norm_sq = (flat**2).sum(-1, keepdims=True)
    return flat / np.sqrt(np.maximum(norm_sq, NORM_EPSILON))


def bilinear_matrix(out_size, in_size):
    """Rows: output positions; half-pixel centres, as tf.image.resize."""
    m = np.zeros((out_size, in_size))
    for i in range(out_size):
        src = (i + 0.5) * in_size / out_size - 0.5
        src = min(max(src, 0.0), in_size - 1)
        lo = int(np.floor(src))
        hi = min(lo + 1, in_size - 1)
        frac = src - lo
        m[i, lo] += 1 - frac
        m[i, hi] += frac
    return m


def resize_bilinear(x, size):
    rows = bilinear_matrix(size[0], x.shape[1])
    cols = bilinear_matrix(size[1], x.shape[2])
    return np.einsum("ih,bhwc,jw->bijc", rows, x, cols)


def to_teacher_grid(teacher, student):
    if student.shape[1:3] != teacher.shape[1:3]:
        student = resize_bilinear(student, teacher.shape[1:3])
    return student


def masked_mean(values, mask):
    return (values * mask).sum((1, 2)) / np.maximum(mask.sum((1, 2)), 1)


def dense_pixel_similarity(teacher, student):
    """The PFS definition, dense: mean_ij (S_t - S_s)^2 per image."""
    a, b = unit_pixels(teacher), unit_pixels(to_teacher_grid(teacher, student))
    s_t = a @ a.transpose(0, 2, 1)
    s_s = b @ b.transpose(0, 2, 1)
    return ((s_t - s_s) ** 2).mean(axis=(1, 2))


def pixel_kl(teacher_logits, student_logits, temperature):
    p_t = softmax(teacher_logits, temperature)
    p_s = softmax(student_logits, temperature)
    return (p_t * (np.log(p_t) - np.log(p_s))).sum(-1)


def pixel_kd(teacher, student, mask, temperature):
    """Mean over valid pixels of KL(softmax(t/T) || softmax(s/T)) * T^2."""
    return masked_mean(pixel_kl(teacher, student, temperature) * temperature**2, mask)


def knowledge_gap(weighting, teacher, student, temperature):
    p_t, p_s = softmax(teacher, temperature), softmax(student, temperature)
    return {
        "uniform": np.ones(teacher.shape[:3]),
        "kl": pixel_kl(teacher, student, temperature),
        "tv": 0.5 * np.abs(p_t - p_s).sum(-1),
    }[weighting]


def gap_weights(weighting, teacher, student, mask, temperature):
    gap = knowledge_gap(weighting, teacher, student, temperature)
    mean_gap = masked_mean(gap, mask)[:, None, None]
    return (gap + GAP_EPSILON) / (mean_gap + GAP_EPSILON) * mask


def weighted_imitation(teacher, student, mask, temperature, weighting, gap_from=None):
    """Pixel KD with each valid pixel weighted by its normalised gap.

    The loss takes no gradient through its weights: for finite differences,
    `gap_from` holds the student logits the weights are computed from.
    """
    gap_student = student if gap_from is None else gap_from
    weights = gap_weights(weighting, teacher, gap_student, mask, temperature)
    kl = pixel_kl(teacher, student, temperature) * temperature**2
    return masked_mean(kl * weights, mask)


def channel_wise(teacher, student, mask, temperature):
    """T^2 / K * sum_k KL(softmax_space(t_k / T) || softmax_space(s_k / T)).

    The spatial softmaxes run over each image's valid pixels only.
    """
    values = np.zeros(teacher.shape[0])
    for b in range(teacher.shape[0]):
        valid = mask[b] > 0
        if not valid.any():
            continue
        t = teacher[b][valid] / temperature  # (N_valid, K)
        s = student[b][valid] / temperature
        log_p_t = t - np.log(np.exp(t).sum(axis=0))
        log_p_s = s - np.log(np.exp(s).sum(axis=0))
        kl = (np.exp(log_p_t) * (log_p_t - log_p_s)).sum(axis=0)
        values[b] = kl.mean() * temperature**2
    return values


def pool_nodes(x, scale):
    """nn.MaxPool2d(kernel=stride=int(scale * size), ceil_mode=True), NHWC."""
    _, height, width, _ = x.shape
    kh, kw = max(int(height * scale), 1), max(int(width * scale), 1)
    nodes = [
        [x[:, i : i + kh, j : j + kw].max(axis=(1, 2)) for j in range(0, width, kw)]
        for i in range(0, height, kh)
    ]
    return np.stack([np.stack(row, axis=1) for row in nodes], axis=1)


def pairwise_similarity(teacher, student, scale):
    """SKD: mean over node pairs of the squared cosine-affinity difference."""
    student = to_teacher_grid(teacher, student)

    def affinity(x):
        nodes = pool_nodes(x, scale).reshape(x.shape[0], -1, x.shape[-1])
        nodes = nodes / np.linalg.norm(nodes, axis=-1, keepdims=True)
        return nodes @ nodes.transpose(0, 2, 1)

    return ((affinity(teacher) - affinity(student)) ** 2).mean(axis=(1, 2))


def intra_class_variation(teacher, student, labels, mask, num_classes):
    """IFVD: per image, the mean over valid pixels of
    (cos(f_t, c_t) - cos(f_s, c_s))^2.

    c is the mean feature of the pixel's class in its image; the labels are
    sampled at the centre of each feature cell.
    """
    _, height, width, _ = teacher.shape
    student = to_teacher_grid(teacher, student)
    rows = (np.arange(height) + 0.5) * labels.shape[1] / height
    cols = (np.arange(width) + 0.5) * labels.shape[2] / width
    grid = np.ix_(np.arange(labels.shape[0]), rows.astype(int), cols.astype(int))
    labels, mask = labels[grid], mask[grid]
    valid = (mask > 0) & (labels >= 0) & (labels < num_classes)

    def variation(features, b):
        values = np.zeros((height, width))
        for k in np.unique(labels[b][valid[b]]):
            members = valid[b] & (labels[b] == k)
            centre = features[b][members].mean(axis=0)
            f = features[b][members]
            values[members] = (f @ centre) / (
                np.linalg.norm(f, axis=-1) * np.linalg.norm(centre)
            )
        return values

    out = np.zeros(teacher.shape[0])
    for b in range(teacher.shape[0]):
        if valid[b].any():
            error = (variation(teacher, b) - variation(student, b)) ** 2
            out[b] = error[valid[b]].mean()
    return out


def pseudo_label(teacher_logits, student_logits, labels, mask, threshold):
    """CE against the teacher's argmax on unlabelled, masked-in pixels whose
    teacher probability is >= threshold, over the unlabelled pixel count."""
    num_classes = teacher_logits.shape[-1]
    unlabeled = ((labels < 0) | (labels >= num_classes)) * mask
    p_teacher = softmax(teacher_logits)
    target = p_teacher.argmax(-1)
    keep = p_teacher.max(-1) >= threshold
    log_p = np.log(softmax(student_logits))
    ce = -np.take_along_axis(log_p, target[..., None], axis=-1)[..., 0]
    return masked_mean(ce * keep, unlabeled)


# registry name -> (constructor arguments used by the shared checks, the
# float64 reference of `compute_loss(teacher, student, labels, mask)` given
# those arguments[, the same with the terms the loss holds constant under
# stop_gradient evaluated at fixed student outputs `s0`, an extra argument
# after the mask, when there are any: its finite differences are the loss's
# gradient]). Arguments differ from the defaults where that checks more.
LOSS_REFERENCES = {
    "cwd": (
        {"temperature": 2.0},
        lambda t, s, labels, mask, temperature: channel_wise(
            t["logits"], s["logits"], mask, temperature
        ),
    ),
    "ifvd": (
        {},  # K comes from the teacher's logits, as in the Distiller
        lambda t, s, labels, mask: intra_class_variation(
            t["features"], s["features"], labels, mask, t["logits"].shape[-1]
        ),
    ),
    "imitation": (
        {"temperature": 2.0, "weighting": "tv"},
        lambda t, s, labels, mask, temperature, weighting: weighted_imitation(
            t["logits"], s["logits"], mask, temperature, weighting
        ),
        lambda t, s, labels, mask, s0, temperature, weighting: weighted_imitation(
            t["logits"], s["logits"], mask, temperature, weighting, s0["logits"]
        ),
    ),
    "kd": (
        {"temperature": 3.0},
        lambda t, s, labels, mask, temperature: pixel_kd(
            t["logits"], s["logits"], mask, temperature
        ),
    ),
    "pfs": (
        {"method": "gram"},  # the default; "dense" in test_pixel_similarity
        lambda t, s, labels, mask, method: dense_pixel_similarity(
            t["features"], s["features"]
        ),
    ),
    "pseudo_label": (
        {"threshold": 0.5},
        lambda t, s, labels, mask, threshold: pseudo_label(
            t["logits"], s["logits"], labels, mask, threshold
        ),
    ),
    "skd": (
        {"pool_scale": 0.6},
        lambda t, s, labels, mask, pool_scale: pairwise_similarity(
            t["features"], s["features"], pool_scale
        ),
    ),
}


def numerical_gradient(fn, x, step=1e-6):
    """Central differences of sum(fn(x)) with respect to x."""
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        orig = flat[i]
        flat[i] = orig + step
        up = fn(x).sum()
        flat[i] = orig - step
        down = fn(x).sum()
        flat[i] = orig
        gflat[i] = (up - down) / (2 * step)
    return grad
